"""fluxfit.makers"""
