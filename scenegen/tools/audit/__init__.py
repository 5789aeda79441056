"""``scenegen audit``: catch biased data before anyone trains on it, on any COCO instances dataset.

Modules, in the order the audit runs: ``config`` (schema of ``conf/audit.yaml``), ``formats.coco_reader`` (reading
COCO or a scenegen folder), ``measure`` (pixels and boxes of a seeded sample), ``phash`` (near-duplicates),
``shortcuts`` (one feature against the class, cross-validated kNN), ``shapes`` (distinct shapes per class
and their proportions, from the frame records), ``stats`` and ``summary`` (the numbers
and checks of ``summary.json``), ``plots`` and ``report`` (the report folder), ``run`` (the command).
"""
