"""L3 constructs, one concern each, composed by the stacks."""
