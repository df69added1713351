"""Scripts the bench runs as whole commands, each in the interpreter of the tool it measures."""
