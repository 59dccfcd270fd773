"""One module per ``hallctl`` command, named after it: the only code that reads the project file.

Each module takes the resolved :class:`hallctl.project.Project`, turns its sections into the
library's own settings once, and calls the library (``sim``, ``generate``, ``data``, ``model``,
``sample``, ``evaluation``, ``plot``), which never sees the project. ``hallctl.cli`` parses the
command line, loads the project and calls these modules.
"""
