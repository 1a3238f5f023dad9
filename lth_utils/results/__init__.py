"""Results (floor 5, beside execution): `analysis` (tables, paired intervals, curves, from a run store), `portable`
(the compact committed stores: export, import, verify), `verdicts` (the cross-machine comparison), `plots` (one
figure style)."""
