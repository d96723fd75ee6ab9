mm 1
param res: int =
