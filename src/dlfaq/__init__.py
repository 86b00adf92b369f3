"""dlfaq: an executable deep-learning FAQ.

Library parts (``dlfaq.nn``, ``dlfaq.train``, ``dlfaq.imbalance``,
``dlfaq.embeddings``, ``dlfaq.shapes``, ``dlfaq.doctor``) never import the
experiments, the report or the command line.
"""

__version__ = "0.1.0"
