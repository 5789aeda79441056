"""An example scenegen asset pack: the data is manifest.yaml and meshes/ beside this file."""
