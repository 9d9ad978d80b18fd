"""fluxfit.estimators"""
