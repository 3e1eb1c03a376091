"""fedlab: the helpers of the course, each written out in a lesson first, then saved here.

Importing ``fedlab`` imports none of its modules and does nothing else; a notebook imports what
it uses (``from fedlab import data, fedavg, partition``) after calling ``runtime.setup(...)``.

Each module and the lesson (``notebooks/NN_*.ipynb``) that introduces it:

- ``runtime``      00: seeds, quiet logs, TFF's context, workers that end with the kernel.
- ``data``         00: the shipped data sets (checksums verified); the digits split from 01 on.
- ``errors``       00: an expected error shown as one line, ``TypeName: message``.
- ``payload``      01: bytes that one round moves, counted from TFF types or arrays.
- ``partition``    01: ``iid_partition``; the non-IID splits from 02 on, measured in 06.
- ``fedavg``       02 (``client_update``) and 03 (the rest): Federated Averaging in three layers.
- ``learning``     03: the Keras model handed to ``tff.learning``.
- ``plots``        03: the plots the lessons share.
- ``secagg``       04: secure aggregation (Bonawitz et al. 2017), simulated in one process.
- ``leakage``      04: what one client's update gives away.
- ``dp``           05: privacy accounting for DP-FedAvg.
- ``synthetic``    06: the Synthetic(alpha, beta) data of the FedProx paper.
- ``byod``         07: one CSV file per client in, checked tables out.
- ``report``       07: the Markdown report of a run, its table, findings and figures.
- ``clientfiles``  08: each client's data in a file of its own, read where it lives.
- ``wire``         08: a byte-counting relay between a program and a TFF worker.
- ``workers``      08: several TFF worker processes and the contexts that use them.
- ``program``      09: a training program that survives a crash.

Private modules (not for the lessons): ``_checks`` (argument checks shared by every module),
``_processes`` (child processes that end with their parent).
"""
