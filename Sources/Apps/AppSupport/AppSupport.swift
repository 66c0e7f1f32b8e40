import PDE
