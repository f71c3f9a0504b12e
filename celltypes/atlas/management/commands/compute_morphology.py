"""Compute Allen's morphology features for every reconstruction whose SWC the file store holds."""

import math
import time

from django.core.management.base import BaseCommand

from celltypes.atlas.models import NeuronReconstruction
from celltypes.atlas.selectors.morphology import morphology_comparison, reconstructions_with_held_swc
from celltypes.atlas.services.morphology import computed_morphology_update
from celltypes.atlas.vocabulary import AGREEMENT_RTOL, MORPHOLOGY_COLUMNS


class Command(BaseCommand):
    help = (
        "Compute morphology features from every held SWC (skipping SWCs unchanged since the last run) "
        "and print how each feature agrees with Allen's published values."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="recompute even when the SWC is unchanged")
        parser.add_argument(
            "--reconstruction", type=int, action="append", help="only this reconstruction id (repeatable)"
        )

    def handle(self, *args, force: bool, reconstruction: list[int] | None, **options):
        started = time.perf_counter()
        ids = reconstructions_with_held_swc()
        if reconstruction:
            ids = [i for i in ids if i in set(reconstruction)]
        comparisons = []
        for recon_id in ids:
            computed = computed_morphology_update(reconstruction_id=recon_id, force=force)
            comparison = morphology_comparison(NeuronReconstruction.objects.get(pk=recon_id))
            comparisons.append(comparison)
            recon = comparison.reconstruction
            if computed.error:
                status = self.style.ERROR(f"cannot read: {computed.error}")
            else:
                compared = [r for r in comparison.rows if r.reproducible and r.agrees is not None]
                agree = sum(1 for r in compared if r.agrees)
                status = f"{agree}/{len(compared)} reproducible features agree" if compared else "no published values"
            flag = " (superseded)" if recon.superseded else ""
            self.stdout.write(f"reconstruction {recon.pk} of specimen {recon.specimen_id}{flag}: {status}")
            if comparison.note:
                self.stdout.write(f"    {comparison.note}")
        self._summary(comparisons)
        self.stdout.write(
            self.style.SUCCESS(f"computed {len(comparisons)} reconstructions in {time.perf_counter() - started:.2f} s")
        )

    def _summary(self, comparisons) -> None:
        """Per feature: how many held SWCs agree with their published record, and the largest difference."""
        self.stdout.write(
            f"\n{'feature':34s} {'agree':>7s} {'max |rel diff|':>15s}  (agree: within {AGREEMENT_RTOL:g})"
        )
        for name in MORPHOLOGY_COLUMNS:
            rows = [
                row for c in comparisons for row in c.rows if row.name == name and row.relative_difference is not None
            ]
            if not rows:
                why = "not computed" if name == "hausdorff_dimension" else "nothing to compare"
                self.stdout.write(f"{name:34s} {'-':>7s} {'-':>15s}  {why}")
                continue
            agree = sum(1 for row in rows if row.agrees)
            worst = max(abs(row.relative_difference) for row in rows)
            kind = "reproducible" if rows[0].reproducible else "not reproducible from the SWC alone"
            worst_text = "inf" if math.isinf(worst) else f"{worst:.3g}"
            self.stdout.write(f"{name:34s} {agree:>3d}/{len(rows):<3d} {worst_text:>15s}  {kind}")
