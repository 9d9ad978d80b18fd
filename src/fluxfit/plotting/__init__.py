"""fluxfit.plotting"""
