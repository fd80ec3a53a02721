"""The response-code reference (应答码) from data/response_codes.csv.

Source: ../shared/data/response_codes.csv of the posdesk project (copied into the package, which is
installed without ../shared): ISO 8583 field 39 codes as shown on China UnionPay POS terminals —
meanings per China UnionPay standard Q/CUP 006.6 appendix A.2 as reproduced in public POS code;
the merchant remedies are the helpdesk's own practice. Articles link themselves to their codes when
saved (knowledge.services)."""

import csv
from pathlib import Path

from django.db import migrations

CSV = Path(__file__).resolve().parent.parent / "data" / "response_codes.csv"


def load(apps, schema_editor):
    ResponseCode = apps.get_model("knowledge", "ResponseCode")
    with CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            ResponseCode.objects.update_or_create(
                code=row["code"].strip().upper(),
                defaults={
                    "meaning": row["meaning_zh"].strip(),
                    "kind": row["kind"].strip(),
                    "remedy": row["merchant_remedy_zh"].strip(),
                    "terminal_fault": row["terminal_fault"].strip() == "yes",
                },
            )


def unload(apps, schema_editor):
    apps.get_model("knowledge", "ResponseCode").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search_tables")]

    operations = [migrations.RunPython(load, unload)]
