"""fluxfit.results"""
