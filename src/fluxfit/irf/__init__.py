"""fluxfit.irf"""
