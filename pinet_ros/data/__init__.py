"""Dataset readers (MuCo-3DHP, MuPoTS-3D in their released formats) and synthetic scenes."""
