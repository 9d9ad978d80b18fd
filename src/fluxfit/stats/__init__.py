"""fluxfit.stats"""
