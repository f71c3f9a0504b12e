"""Pure-Python science core: SWC, NWB, morphology and ephys features, GLIF.

Nothing in this package imports Django or any other celltypes package.
"""
