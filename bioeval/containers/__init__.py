"""Container images: build the bioeval image (docker SDK) and convert it for Apptainer."""
