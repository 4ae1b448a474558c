"""Every template the catalog may name exists: a service never fails at the printer for a
missing template."""

from kiosk.catalog.services import A4_TEMPLATES, RECEIPT_TEMPLATES, Catalog
from kiosk.documents.a4_templates import a4_template_names
from kiosk.paths import CONFIG_DIR


def test_every_a4_template_the_catalog_allows_has_a_file():
    assert set(A4_TEMPLATES) - {"central_pdf"} <= set(a4_template_names())


def test_every_receipt_template_the_catalog_allows_has_a_file():
    files = {p.stem for p in (CONFIG_DIR / "templates" / "receipts").glob("*.toml")}
    assert set(RECEIPT_TEMPLATES) <= files


def test_catalog_only_names_existing_templates():
    catalog = Catalog.load()
    used = {s.print_a4 for s in catalog.services if s.print_a4}
    assert used <= set(A4_TEMPLATES)
