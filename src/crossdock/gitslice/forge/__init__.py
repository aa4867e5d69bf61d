"""GitSlice on the forge: the port, the GitHub adapter and an in-package GitHub-compatible forge."""
