"""The receiver's commands; each module has add_arguments(parser) and main(args) -> exit code."""
