"""The ONTAP API as data, compiled from netapp-ontap's schemas (see ``spec``)."""

from .spec import ApiSpec, FieldSpec, FieldType, Operation, ResourceSpec, load_spec

__all__ = ["ApiSpec", "FieldSpec", "FieldType", "Operation", "ResourceSpec", "load_spec"]
