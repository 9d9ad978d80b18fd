"""fluxfit.data"""
