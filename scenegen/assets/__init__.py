"""Asset packs: manifests, safe mesh loading, the class catalog, stable poses; distractor primitives."""
