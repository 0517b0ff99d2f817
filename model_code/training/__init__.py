"""Training: the one config (:mod:`.config`), the loop (:mod:`.loop`), resume state (:mod:`.checkpoints`)."""
