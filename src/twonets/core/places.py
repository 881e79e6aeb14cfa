"""Reference data of Shanghai's districts and the Yangtze River Delta regions, with lookups.

Populations are resident populations from the 7th national population census, standard
time 2020-11-01: the district figures are those published by the Shanghai Municipal Bureau
of Statistics, the provincial ones those of the National Bureau of Statistics. District
codes are GB/T 2260 administrative division codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DistrictKind = Literal["central", "pudong", "suburban"]


@dataclass(frozen=True)
class District:
    """A district (区) of Shanghai with its 2020 census resident population."""

    code: str
    name: str
    name_en: str
    population_2020: int
    kind: DistrictKind


@dataclass(frozen=True)
class Region:
    """A provincial-level region of the Yangtze River Delta whose licences the city trusts."""

    code: str
    admin_code: str
    name: str
    name_en: str
    population_2020: int
    home: bool


SHANGHAI_TOTAL_POPULATION = 24_870_895

# Source: Shanghai Municipal Bureau of Statistics, 7th national population census (2020-11-01).
DISTRICTS: tuple[District, ...] = (
    District("310101", "黄浦区", "Huangpu", 662_030, "central"),
    District("310104", "徐汇区", "Xuhui", 1_113_078, "central"),
    District("310105", "长宁区", "Changning", 693_051, "central"),
    District("310106", "静安区", "Jing'an", 975_707, "central"),
    District("310107", "普陀区", "Putuo", 1_239_800, "central"),
    District("310109", "虹口区", "Hongkou", 757_498, "central"),
    District("310110", "杨浦区", "Yangpu", 1_242_548, "central"),
    District("310112", "闵行区", "Minhang", 2_653_489, "suburban"),
    District("310113", "宝山区", "Baoshan", 2_235_218, "suburban"),
    District("310114", "嘉定区", "Jiading", 1_834_258, "suburban"),
    District("310115", "浦东新区", "Pudong New Area", 5_681_512, "pudong"),
    District("310116", "金山区", "Jinshan", 822_776, "suburban"),
    District("310117", "松江区", "Songjiang", 1_909_713, "suburban"),
    District("310118", "青浦区", "Qingpu", 1_271_424, "suburban"),
    District("310120", "奉贤区", "Fengxian", 1_140_872, "suburban"),
    District("310151", "崇明区", "Chongming", 637_921, "suburban"),
)

# Source: National Bureau of Statistics, 7th national population census (2020-11-01).
REGIONS: tuple[Region, ...] = (
    Region("SH", "310000", "上海市", "Shanghai", SHANGHAI_TOTAL_POPULATION, home=True),
    Region("JS", "320000", "江苏省", "Jiangsu", 84_748_016, home=False),
    Region("ZJ", "330000", "浙江省", "Zhejiang", 64_567_588, home=False),
    Region("AH", "340000", "安徽省", "Anhui", 61_027_171, home=False),
)

_DISTRICTS_BY_CODE: dict[str, District] = {d.code: d for d in DISTRICTS}
# Both spellings of a region reach the same record: forms carry the short code, licences
# and ID numbers carry the administrative one.
_REGIONS_BY_CODE: dict[str, Region] = {
    **{r.code: r for r in REGIONS},
    **{r.admin_code: r for r in REGIONS},
}


def get_district(code: str) -> District:
    """Return the Shanghai district with this GB/T 2260 code, or raise ``KeyError``."""
    try:
        return _DISTRICTS_BY_CODE[code]
    except KeyError:
        raise KeyError(
            f"no Shanghai district with code {code!r}; known codes: "
            + ", ".join(_DISTRICTS_BY_CODE)
        ) from None


def get_region(code: str) -> Region:
    """Return the YRD region with this short ("SH") or administrative ("310000") code."""
    key = code.strip().upper()
    try:
        return _REGIONS_BY_CODE[key]
    except KeyError:
        raise KeyError(
            f"no Yangtze River Delta region with code {code!r}; known codes: "
            + ", ".join(_REGIONS_BY_CODE)
        ) from None
