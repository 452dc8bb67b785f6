"""Device profiles: what a model of trial stimulator can do and what each tier of user may ask of it.

::

    from scsctl.profiles import get_profile, list_profiles, profile_for_model, load_profile

    profile = get_profile("drg-4x4")              # by name, from the searched folders
    profile = get_profile("lab/my-model.toml")    # or a file
    profile = profile_for_model(0x5102)           # the one profile for IDENTIFY's model id
    ensure_model_matches(profile, identify.model_id)   # ProfileMismatch when it is another model

Every loader validates; a broken file raises ``scsctl.errors.ProfileError`` whose ``problems`` list
every problem found (file, key, reason). The file format is described in ``schema``; where
profiles are searched in ``loading``; the values in ``models``. Each profile carries the SHA-256 of
its file (``profile.sha256``); which files are trusted for the clinical tier is ``scsctl.trust``'s
decision, not this package's.
"""

from __future__ import annotations

from .describe import clinical_widenings, profile_summary, profile_table, profile_to_dict
from .loading import (
    PROFILE_PATH_ENV,
    SITE_PROFILE_DIR,
    ensure_model_matches,
    get_profile,
    list_profiles,
    profile_dirs,
    profile_files,
    profile_for_model,
    shipped_profile_dir,
)
from .models import (
    RECHARGE_NAMES,
    WAVEFORM_NAMES,
    AmplitudeIncrement,
    ContactLayout,
    DeviceProfile,
    Grid,
    Hardware,
    HighFrequency,
    ImpedanceLimits,
    Range,
    SafetyLimits,
    Segment,
    Tier,
    TierName,
    UsbId,
    WaveformLimits,
)
from .schema import SCHEMA_VERSION, content_sha256, load_profile, parse_profile, parse_profile_text

__all__ = [
    "PROFILE_PATH_ENV",
    "RECHARGE_NAMES",
    "SCHEMA_VERSION",
    "SITE_PROFILE_DIR",
    "WAVEFORM_NAMES",
    "AmplitudeIncrement",
    "ContactLayout",
    "DeviceProfile",
    "Grid",
    "Hardware",
    "HighFrequency",
    "ImpedanceLimits",
    "Range",
    "SafetyLimits",
    "Segment",
    "Tier",
    "TierName",
    "UsbId",
    "WaveformLimits",
    "clinical_widenings",
    "content_sha256",
    "ensure_model_matches",
    "get_profile",
    "list_profiles",
    "load_profile",
    "parse_profile",
    "parse_profile_text",
    "profile_dirs",
    "profile_files",
    "profile_for_model",
    "profile_summary",
    "profile_table",
    "profile_to_dict",
    "shipped_profile_dir",
]
