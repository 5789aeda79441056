"""A frame's files besides its record (image, masks, depth, normals, flow, tracks): each module declares its
``OUTPUTS``, ``registry.py`` collects them."""
