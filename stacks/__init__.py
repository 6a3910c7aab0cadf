"""Deployment units: thin stacks that compose the constructs in constructs_lib."""
