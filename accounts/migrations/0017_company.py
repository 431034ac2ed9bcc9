"""Companies and corporate users (issue 11). A corporate user's User ID is stored as
"<CORPORATE ID>:<User ID>" (see accounts.models.Company), hence the longer column and the
validator that allows that prefix. On SQLite the AlterField rebuilds accounts_user, which
carries no trigger (the append-only triggers of 0008/0014 are on the audit table).

Every staff role may view companies (accounts.services.ROLE_PERMISSIONS; frozen here)."""

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models


ROLES = ["Call centre agent", "Branch officer", "Supervisor"]


def view_company_grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="company")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="view_company",
        defaults={"name": "Can view company"},
    )
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(permission)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0016_password_reset'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterField(
            model_name='user',
            name='user_id',
            field=models.CharField(max_length=51, unique=True, validators=[django.core.validators.RegexValidator('^(?:[A-Za-z0-9]{3,20}:)?[A-Za-z0-9._-]{4,30}$', 'User ID is 4 to 30 letters, digits, dots, dashes or underscores.', code='invalid_user_id')], verbose_name='User ID'),
        ),
        migrations.CreateModel(
            name='Company',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=150, verbose_name='company name')),
                ('cif', models.CharField(max_length=20, verbose_name='CIF')),
                ('corporate_id', models.CharField(max_length=20, validators=[django.core.validators.RegexValidator('^[A-Za-z0-9]{3,20}$', 'A Corporate ID is 3 to 20 letters or digits.', code='invalid_corporate_id')], verbose_name='Corporate ID')),
                ('requires_approval', models.BooleanField(default=False, verbose_name='a second user must approve payments')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
            ],
            options={
                'verbose_name': 'company',
                'verbose_name_plural': 'companies',
                'ordering': ['name'],
                'constraints': [models.UniqueConstraint(fields=('cif',), name='accounts_company_cif_unique'), models.UniqueConstraint(django.db.models.functions.text.Upper('corporate_id'), name='accounts_company_corporate_id_upper_unique')],
            },
        ),
        migrations.AddField(
            model_name='user',
            name='company',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='users', to='accounts.company', verbose_name='company'),
        ),
        migrations.RunPython(view_company_grant, migrations.RunPython.noop),
    ]
