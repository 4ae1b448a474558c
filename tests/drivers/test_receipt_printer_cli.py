"""``kiosk print receipt-test`` against the printer simulator."""

from __future__ import annotations

from kiosk.cli.main import main


def test_receipt_test_prints_and_exits_0(printer_sim, capsys):
    assert main(["print", "receipt-test", "--uri", printer_sim.uri]) == 0
    text = printer_sim.wait_jobs(1)[0]
    assert "打印测试 / 打印測試 / Print test" in text
    assert "繁體：廣州市政務服務一體機" in text and "[BARCODE:TEST-0123456789]" in text
    assert "printed receipt-test-" in capsys.readouterr().out


def test_receipt_test_on_a_printer_out_of_paper_exits_4_with_the_reason(printer_sim_factory,
                                                                        capsys):
    sim = printer_sim_factory("--paper", "out")
    assert main(["print", "receipt-test", "--uri", sim.uri, "--profile", "58mm-cjk"]) == 4
    assert "paper_out" in capsys.readouterr().err
    assert sim.jobs() == []


def test_receipt_test_with_unknown_profile_is_a_usage_error(printer_sim, capsys):
    assert main(["print", "receipt-test", "--uri", printer_sim.uri, "--profile", "x"]) == 2
    assert "80mm-cjk" in capsys.readouterr().err
