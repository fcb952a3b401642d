# Dossier numbers now come from the shared numbering series (comptoir.numbering),
# which took over the yearly counters in numbering 0002.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dossiers', '0003_sync_revisions'),
        ('numbering', '0002_seed_from_dossier_counters'),
    ]

    operations = [
        migrations.DeleteModel(
            name='DossierCounter',
        ),
    ]
