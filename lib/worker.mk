# lib/worker.mk: build fragment of the worker-thread pool whose jobs complete
# on the event loop.
