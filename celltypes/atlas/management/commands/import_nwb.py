"""Import a lab's own NWB recording as a specimen of its own (never Allen's record)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from celltypes.atlas.services.lab_recordings import LabImportError, lab_recording_import


class Command(BaseCommand):
    help = (
        "Import a lab's own NWB recording (NWB 2, MIES NWB 1 or Allen NWB 1) as a specimen of its own, marked as a "
        "lab upload: its sweeps are listed with their spike counts and drawn on its ephys page. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the NWB file")
        parser.add_argument("--name", help="the specimen's name (default: the name the file stores, else its stem)")
        parser.add_argument("--species", default="", help="e.g. mouse, human, or any name")

    def handle(self, *args, file: Path, name: str | None, species: str, **options):
        try:
            record = lab_recording_import(source=file, name=name, species=species)
        except LabImportError as exc:
            raise CommandError(f"{file}: not imported, nothing was changed: {exc}") from None
        sweeps = record.specimen.ephys_sweeps.all()
        clamped = [s for s in sweeps if s.num_spikes is not None]
        self.stdout.write(
            self.style.SUCCESS(
                f"imported {record.file_name} as specimen {record.specimen_id} ({record.specimen.name}): "
                f"{len(sweeps)} sweeps, {len(clamped)} in current clamp with spikes counted; "
                f"see /cell/{record.specimen_id}/ephys/"
            )
        )
