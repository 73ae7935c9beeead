"""emovec: replication package for emotion vectors in open-weight language models.

Data flows one way: corpora -> models -> activations -> vectors -> geometry -> paper.
The library never reads config files or writes pipeline outputs on its own; the thin
entry points in ``emovec.stages`` do that, so every function here can be tested with arrays.
"""

__version__ = "0.1.0"
