"""The simulator answers a signed query with the same records for the same person."""

from drivers.identity import Identity, id_number_check_digit


def _identity(first17: str = "44010619580315123") -> Identity:
    return Identity("resident", "测试甲", first17 + id_number_check_digit(first17))


def test_same_person_same_records(central_client):
    first = central_client.query("rs_jfmx", _identity(), {})
    again = central_client.query("rs_jfmx", _identity(), {})
    assert first["rows"] == again["rows"] and first["total_rows"] == again["total_rows"]
    assert first["kind"] == "table"
    assert {"month", "insurance", "base", "personal_part", "employer_part", "paid"} <= set(first["rows"][0])
