"""The one exception type whose message is shown to the user as is."""


class ScenegenError(Exception):
    """Bad input (config, asset, manifest, mesh): one line naming the culprit, exit code 2."""
