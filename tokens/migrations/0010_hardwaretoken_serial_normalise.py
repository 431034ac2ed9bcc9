import unicodedata
from collections import defaultdict

from django.db import migrations


def serial_normalise(serial):
    """A frozen copy of ``tokens.hardware.serial_normalise`` as this migration shipped."""
    text = unicodedata.normalize("NFKC", serial or "")
    return "".join(
        c for c in text if not (c.isspace() or unicodedata.category(c) == "Pd")
    ).upper()


def serials_normalise(apps, schema_editor):
    """Store every serial as activation looks for it (no dashes or spaces, upper case).

    Imports before this stored a vendor's "12-3456-7890" as written, and activation, which
    normalises what the customer types, could never find it. Two stored serials that become
    one are not merged: the migration stops and names them, and staff decide which token is
    real before migrating again.
    """
    HardwareToken = apps.get_model("tokens", "HardwareToken")
    groups = defaultdict(list)
    for pk, serial in HardwareToken.objects.values_list("pk", "serial"):
        groups[serial_normalise(serial)].append((serial, pk))
    collisions = {normal: rows for normal, rows in groups.items() if len(rows) > 1}
    if collisions:
        raise RuntimeError(
            "tokens 0010: these stored token serials become the same serial once dashes, "
            "spaces and case are normalised; nothing was changed. Decide which token is real, "
            "rename or delete the other, then migrate again. "
            + "; ".join(
                f"{normal}: " + ", ".join(repr(serial) for serial, _ in sorted(rows))
                for normal, rows in sorted(collisions.items())
            )
        )
    for normal, [(serial, pk)] in groups.items():
        if serial != normal:
            HardwareToken.objects.filter(pk=pk).update(serial=normal)


class Migration(migrations.Migration):
    dependencies = [("tokens", "0009_smsdevice_one_per_user")]

    operations = [migrations.RunPython(serials_normalise, migrations.RunPython.noop)]
