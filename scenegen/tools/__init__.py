"""User tools beside rendering: audit, balance, preview, doctor, pack tools, combining COCO files."""
