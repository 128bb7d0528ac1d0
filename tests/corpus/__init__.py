"""Broken and hostile inputs, generated at test time, and the runner that checks each one."""
