"""``scenegen evaluate``: does the synthetic data teach anything? Train on synthetic crops, test on real ones.

Modules, in the order the evaluation runs: ``config`` (schema of ``conf/evaluate.yaml``), ``classes``
(matching target classes to synthetic ones), ``crops`` (letterboxed crops of the boxes), ``probe`` (the small
classifier and its training, torch), ``metrics`` (balanced accuracy, bootstrap intervals, folds by image, KID,
Frechet distance; numpy), ``inception`` (``--features inception``), ``report`` (``evaluate.json`` and
``evaluate.html``), ``run`` (the command). Only ``probe``, ``inception`` and ``run`` at run time import torch.
"""
