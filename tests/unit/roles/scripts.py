"""The roles' Python scripts (files/ without a .py suffix), imported for unit tests."""
import importlib.machinery
import importlib.util


def load_script(path, name):
    """Import the script at path as module name."""
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module
