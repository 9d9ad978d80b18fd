"""fluxfit.cli"""
