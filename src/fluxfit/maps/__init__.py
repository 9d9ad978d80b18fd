"""fluxfit.maps"""
