"""The context digest: what every agent knows about the project (see :mod:`.build`)."""
