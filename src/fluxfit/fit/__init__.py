"""fluxfit.fit"""
