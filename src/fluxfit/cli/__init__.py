"""The ``fluxfit`` command line."""
