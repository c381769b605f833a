"""Pruning: strategies built on ``torch.nn.utils.prune``, sparsity metrics, a resumable
experiment grid, and the literature tables of the ShrinkBench meta-analysis (the chapter
"The state of pruning")."""
