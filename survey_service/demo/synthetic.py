"""The one seeded generator of synthetic data, shared by the benches and the demo city.

- ``salary_document(rng, n_rows)``: a salary survey (``form_schemas/salary-survey.json``) of
  one drawn enterprise with ``n_rows`` employees (the benches).
- ``city(rng, n)``: a city's enterprises (``Firm``) across districts, industries and sizes,
  each with a hidden ``climate`` (how well it keeps the six duties) that its workers' poll
  answers and its self-assessment follow; ``firm_salary_document``, ``poll_answer`` and
  ``self_assessment`` write their documents (the demo).

Everything comes from the ``random.Random`` passed in, so a fixed seed gives the same
documents byte for byte; a form's questions and items are visited in sorted key order, so
the documents do not depend on the key order the database gave the form back in.

Pay is log-normal around an occupation-level median (major-group level x a middle-group
factor x a management-level factor), prorated by months worked and kept between the
provincial minimum wage and the form's ceiling. The parts (base, bonus, allowances,
overtime) are whole yuan and add up to ``annual_pay`` exactly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from survey_service.forms.formats import USCC_ALPHABET, uscc_check_character
from survey_service.reference.codes import occupations

SEED = 20240601
SURVEY_YEAR = 2024
DISTRICTS = ("610202", "610203", "610204", "610222", "610271")
MAX_ANNUAL_PAY = 1_600_000
MONTHLY_MINIMUM_WAGE = 1950  # Shaanxi class 3, 2023-05 to 2025-12

# Median annual pay (yuan) of a full year by major group; middle groups adjust it.
MAJOR_MEDIAN = {"1": 150_000, "2": 92_000, "3": 66_000, "4": 54_000, "5": 42_000, "6": 62_000}
MIDDLE_FACTOR = {
    "2-04": 1.4,
    "2-06": 1.15,
    "2-08": 0.9,
    "4-03": 0.8,
    "4-04": 1.35,
    "4-05": 1.2,
    "4-10": 0.8,
    "6-10": 1.15,
    "6-16": 1.35,
    "6-17": 1.15,
    "6-28": 1.2,
    "6-29": 0.95,
    "6-31": 0.85,
}
JOB_LEVEL_FACTOR = {
    "senior_management": 2.4,
    "middle_management": 1.6,
    "junior_management": 1.2,
    "non_management": 1.0,
}
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code
PAY_SIGMA = 0.3  # spread of log pay within one occupation and level

# Every enterprise has staff in these groups (weights), plus its industry's core groups.
OFFICE_GROUPS = {"1-06": 3, "2-02": 6, "2-06": 4, "3-01": 8, "3-02": 2, "4-02": 3}
INDUSTRY_GROUPS: dict[str, dict[str, int]] = {
    "B06": {"6-16": 45, "6-30": 12, "6-31": 10, "6-28": 4},  # coal mining
    "C30": {"6-15": 40, "6-30": 10, "6-31": 10, "6-18": 5},  # cement, glass, ceramics
    "C13": {"6-01": 40, "6-02": 15, "6-31": 8},  # agricultural products processing
    "C34": {"6-20": 35, "6-18": 15, "6-19": 10, "6-31": 6},  # general machinery
    "C38": {"6-24": 40, "6-18": 10, "6-31": 8},  # electrical machinery
    "D44": {"6-28": 45, "4-11": 15, "6-31": 6},  # power and heat
    "E47": {"6-29": 55, "6-30": 12, "6-31": 6},  # building construction
    "F52": {"4-01": 55, "4-02": 10},  # retail
    "G54": {"4-02": 45, "6-30": 15},  # road transport
    "H62": {"4-03": 60},  # catering
    "I65": {"4-04": 45, "2-02": 20},  # software and IT services
    "Q84": {"2-05": 45, "4-14": 15},  # health care
}
OWNERSHIP = {
    "private": 40,
    "limited_liability": 30,
    "state_owned": 10,
    "joint_stock": 10,
    "collective": 3,
    "foreign_invested": 2,
    "hmt_invested": 1,
    "joint_stock_cooperative": 2,
    "other": 2,
}
EMPLOYMENT_FORM = {
    "full_time": 88,
    "part_time": 3,
    "agency": 4,
    "retiree_rehired": 2,
    "intern": 2,
    "other": 1,
}
CONTRACT_FOR_FORM = {
    "full_time": {"fixed_term": 60, "open_ended": 40},
    "part_time": {"task_based": 50, "none": 30, "fixed_term": 20},
    "agency": {"fixed_term": 100},
    "retiree_rehired": {"task_based": 60, "none": 40},
    "intern": {"none": 70, "fixed_term": 30},
    "other": {"task_based": 50, "none": 50},
}
EDUCATION = (
    "junior_secondary_or_less",
    "upper_secondary",
    "college",
    "bachelor",
    "master",
    "doctorate",
)
# Weights over EDUCATION by major group.
EDUCATION_WEIGHTS = {
    "1": (1, 5, 20, 55, 17, 2),
    "2": (0, 3, 22, 58, 15, 2),
    "3": (3, 25, 40, 30, 2, 0),
    "4": (20, 45, 25, 10, 0, 0),
    "5": (50, 40, 9, 1, 0, 0),
    "6": (35, 45, 17, 3, 0, 0),
}
SKILL_FOR_MAJOR = {
    "1": {"none": 50, "title_intermediate": 25, "title_senior": 25},
    "2": {"title_junior": 35, "title_intermediate": 40, "title_senior": 15, "none": 10},
    "3": {"none": 70, "title_junior": 20, "title_intermediate": 10},
    "4": {"none": 55, "skill_grade_5": 20, "skill_grade_4": 15, "skill_grade_3": 10},
    "5": {"none": 70, "skill_grade_5": 20, "skill_grade_4": 10},
    "6": {
        "none": 30,
        "skill_grade_5": 20,
        "skill_grade_4": 25,
        "skill_grade_3": 15,
        "skill_grade_2": 7,
        "skill_grade_1": 3,
    },
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国"
NAME_PLACES = ("铜川", "铜川市", "陕西")
NAME_WORDS = ("宏达", "华源", "秦川", "耀华", "新元", "金泰", "永兴", "恒信", "瑞丰", "鼎盛")
NAME_KINDS = {
    "B": "矿业",
    "C": "实业",
    "D": "能源",
    "E": "建设工程",
    "F": "商贸",
    "G": "运输",
    "H": "餐饮管理",
    "I": "信息技术",
    "Q": "医疗服务",
}


@dataclass(frozen=True, slots=True)
class PayGroup:
    """Where a row's pay comes from: its middle group and that group's median (yuan/year)."""

    middle: str
    median: float

    @property
    def major(self) -> str:
        return self.middle.split("-", 1)[0]


def make_rng(seed: int = SEED) -> random.Random:
    # Reproducible on purpose: a seed names a data set. Nothing here is a secret.
    return random.Random(seed)  # noqa: S311


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def occupation_median(middle: str) -> float:
    """The full-year median pay of a middle group ("6-16")."""
    return MAJOR_MEDIAN[middle.split("-", 1)[0]] * MIDDLE_FACTOR.get(middle, 1.0)


def _workforce(industry: str) -> dict[str, int]:
    groups = {**OFFICE_GROUPS, **INDUSTRY_GROUPS[industry]}
    known = occupations()
    missing = [code for code in groups if known.get(code) is None or known[code].level != "middle"]
    if missing:
        raise ValueError(f"not middle groups in the occupation list: {missing}")
    return groups


def random_uscc(rng: random.Random, district: str = "610200") -> str:
    """A unified social credit code of an enterprise registered in ``district``
    (market regulator "9", enterprise "1"), with a correct GB 32100 check character."""
    body = "".join(rng.choice(USCC_ALPHABET[:10]) for _ in range(8))
    first17 = "91" + district + body + organisation_check_character(body)
    return first17 + uscc_check_character(first17)


def organisation_check_character(body: str) -> str:
    """The GB 11714 check character of an 8-digit organisation code body."""
    total = sum(int(char) * weight for char, weight in zip(body, ORG_WEIGHTS, strict=True))
    return "0123456789X0"[11 - total % 11]


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "0919-" + "".join(rng.choice("0123456789") for _ in range(7))
    return rng.choice(("13", "15", "18", "19")) + "".join(
        rng.choice("0123456789") for _ in range(9)
    )


def _size_class(staff: int) -> str:
    if staff >= 1000:
        return "large"
    if staff >= 300:
        return "medium"
    return "small" if staff >= 20 else "micro"


def enterprise(rng: random.Random, staff: int, industry: str, uscc: str | None) -> dict[str, Any]:
    """The enterprise block; ``wage_bill`` is filled in once the rows exist."""
    district = rng.choice(DISTRICTS)
    section = industry[0]
    name = (
        rng.choice(NAME_PLACES)
        + rng.choice(NAME_WORDS)
        + NAME_KINDS.get(section, "实业")
        + "有限公司"
    )
    has_union = staff >= 25 or rng.random() < 0.3
    return {
        "uscc": uscc if uscc is not None else random_uscc(rng, district),
        "name": name,
        "legal_representative": _person_name(rng),
        "contact_name": _person_name(rng),
        "contact_phone": _phone(rng),
        "district": district,
        "industry": industry,
        "ownership": _pick(rng, OWNERSHIP),
        "size_class": _size_class(staff),
        "above_designated_size": staff >= 50,
        "staff_count": staff,
        "average_headcount": max(1, round(staff * rng.uniform(0.92, 1.04))),
        "agency_workers": round(staff * rng.uniform(0.0, 0.06)),
        "months_operating": 12,
        "wage_bill": 0,
        "has_union": has_union,
        "has_collective_contract": has_union and rng.random() < 0.6,
        "survey_year": SURVEY_YEAR,
    }


def _job_level(rng: random.Random, major: str) -> str:
    if major == "1":
        return _pick(rng, {"senior_management": 30, "middle_management": 70})
    return _pick(rng, {"middle_management": 3, "junior_management": 9, "non_management": 88})


def pay_parts(rng: random.Random, annual: int, major: str) -> dict[str, int]:
    """Split whole-yuan ``annual`` pay into base, bonus, allowances and overtime (same sum)."""
    bonus = round(annual * rng.uniform(0.05, 0.35 if major in "12" else 0.2))
    allowances = round(annual * rng.uniform(0.04, 0.14))
    overtime = round(annual * (rng.uniform(0.02, 0.12) if major in "456" else rng.uniform(0, 0.02)))
    return {
        "base_pay": annual - bonus - allowances - overtime,
        "bonus": bonus,
        "allowances": allowances,
        "overtime_pay": overtime,
    }


def annual_pay(rng: random.Random, median: float, job_level: str, months: int) -> int:
    """Log-normal pay around the occupation's median, prorated, in the form's range."""
    full_year = median * JOB_LEVEL_FACTOR[job_level] * math.exp(rng.gauss(0.0, PAY_SIGMA))
    prorated = full_year * months / 12
    floor = MONTHLY_MINIMUM_WAGE * months
    return round(min(max(prorated, floor * rng.uniform(1.0, 1.1)), MAX_ANNUAL_PAY))


def employee(
    rng: random.Random,
    occupation: PayGroup,
    union: bool,
    *,
    year: int = SURVEY_YEAR,
    pay_factor: float = 1.0,
) -> dict[str, Any]:
    """One row: who the employee is and what they were paid in the survey ``year``;
    ``pay_factor`` scales the occupation's median (an enterprise's pay level, a year's)."""
    major = occupation.major
    form = _pick(rng, EMPLOYMENT_FORM)
    months = 12 if rng.random() < 0.85 else rng.randint(1, 11)
    job_level = _job_level(rng, major)
    birth_year = rng.randint(1966, 2003) if form != "retiree_rehired" else rng.randint(1955, 1964)
    hours = round(rng.uniform(16, 30)) if form == "part_time" else rng.choice((40, 40, 44, 48))
    median = occupation.median * pay_factor * (0.55 if form in {"part_time", "intern"} else 1.0)
    pay = annual_pay(rng, median, job_level, months)
    row: dict[str, Any] = {
        "occupation": f"{occupation.middle}-{rng.randint(1, 9):02d}",
        "job_level": job_level,
        "education": rng.choices(EDUCATION, weights=EDUCATION_WEIGHTS[major])[0],
        "skill_level": _pick(rng, SKILL_FOR_MAJOR[major]),
        "sex": "male" if rng.random() < (0.7 if major in "56" else 0.5) else "female",
        "birth_year": birth_year,
        "work_start_year": min(year, birth_year + rng.randint(17, 24)),
        "employment_form": form,
        "contract_type": _pick(rng, CONTRACT_FOR_FORM[form]),
        "union_member": union and rng.random() < 0.8,
        "months_worked": months,
        "weekly_hours": hours,
        "annual_pay": pay,
    }
    row.update(pay_parts(rng, pay, major))
    return row


def salary_document(
    rng: random.Random, n_rows: int, *, uscc: str | None = None, industry: str | None = None
) -> dict[str, Any]:
    """A complete salary survey: one enterprise (``uscc`` and ``industry`` as given, else
    drawn) and ``n_rows`` employees, valid against the shipped salary-survey form."""
    if n_rows < 1:
        raise ValueError("a salary survey has at least one employee")
    industry = industry if industry is not None else rng.choice(sorted(INDUSTRY_GROUPS))
    workforce = _workforce(industry)
    head = enterprise(rng, n_rows, industry, uscc)
    groups = rng.choices(list(workforce), weights=list(workforce.values()), k=n_rows)
    rows = [employee(rng, PayGroup(g, occupation_median(g)), head["has_union"]) for g in groups]
    head["wage_bill"] = sum(row["annual_pay"] for row in rows)
    return {"enterprise": head, "employees": rows}


# --- the demo city ---------------------------------------------------------------------------

# How the city's enterprises spread over districts and industries (weights), and the median
# staff of an enterprise of each industry: mines and power plants are large, shops small.
DISTRICT_WEIGHTS = {"610202": 26, "610203": 18, "610204": 26, "610222": 8, "610271": 22}
INDUSTRY_WEIGHTS = {
    "B06": 8,
    "C30": 12,
    "C13": 8,
    "C34": 7,
    "C38": 5,
    "D44": 3,
    "E47": 12,
    "F52": 15,
    "G54": 8,
    "H62": 12,
    "I65": 4,
    "Q84": 6,
}
MEDIAN_STAFF = {
    "B06": 260,
    "C30": 130,
    "C13": 55,
    "C34": 110,
    "C38": 90,
    "D44": 220,
    "E47": 70,
    "F52": 18,
    "G54": 35,
    "H62": 14,
    "I65": 28,
    "Q84": 70,
}
STAFF_SIGMA = 0.9
CITY_NAME_WORDS = (
    *NAME_WORDS,
    "北辰",
    "长青",
    "德润",
    "福源",
    "广厦",
    "国信",
    "汉唐",
    "和盛",
    "华泰",
    "锦程",
    "凯达",
    "隆基",
    "美途",
    "明远",
    "南山",
    "启航",
    "润泽",
    "三秦",
    "盛世",
    "泰和",
    "天元",
    "万通",
    "祥瑞",
    "药王",
    "金锁",
    "银河",
    "玉华",
    "照金",
    "正通",
    "中联",
)
OWNERSHIP_PAY = {"state_owned": 1.12, "foreign_invested": 1.1, "collective": 0.92}
WAGE_GROWTH_MEAN = 0.055  # mean growth of an enterprise's pay over the previous year
WAGE_GROWTH_SIGMA = 0.03


@dataclass(frozen=True, slots=True)
class Firm:
    """One enterprise of the synthetic city: its registry entry, and what the documents it
    and its workers fill in follow: ``climate`` (about -1.5 to 1.5, how well it keeps the
    six duties), ``pay_level`` (its pay against the occupation medians) and
    ``wage_growth`` (its pay this year over last year, 0.05 = 5%)."""

    uscc: str
    name: str
    district: str
    industry: str
    size_class: str
    ownership: str
    staff_count: int
    has_union: bool
    above_designated_size: bool
    has_collective_contract: bool
    climate: float
    pay_level: float
    wage_growth: float

    def registry(self) -> dict[str, Any]:
        """The enterprise as the registry (``POST /api/v1/enterprises``) takes it."""
        return {
            "uscc": self.uscc,
            "name": self.name,
            "district": self.district,
            "industry": self.industry,
            "size_class": self.size_class,
            "ownership": self.ownership,
            "staff_count": self.staff_count,
            "has_union": self.has_union,
            "above_designated_size": self.above_designated_size,
            "has_collective_contract": self.has_collective_contract,
        }


def _chance(rng: random.Random, p: float) -> bool:
    return rng.random() < min(1.0, max(0.0, p))


def _above_designated_size(rng: random.Random, staff: int, industry: str) -> bool:
    # The real line is turnover (20 million yuan a year in industry); staff stands in for it.
    if industry[0] in "BCD" and staff >= 300:
        return True
    share = 0.75 if staff >= 100 else 0.35 if staff >= 30 else 0.04
    return _chance(rng, share)


def city(rng: random.Random, n_enterprises: int) -> list[Firm]:
    """``n_enterprises`` distinct enterprises spread over Tongchuan's five districts. Each
    district has a drawn ``effort`` (how hard its bureau office pushes unions and contracts)
    that shifts its enterprises' climate, so the districts rank differently."""
    effort = {d: rng.uniform(-0.35, 0.35) for d in DISTRICT_WEIGHTS}
    firms: list[Firm] = []
    codes: set[str] = set()
    names: set[str] = set()
    for _ in range(n_enterprises):
        district = _pick(rng, DISTRICT_WEIGHTS)
        industry = _pick(rng, INDUSTRY_WEIGHTS)
        staff = round(MEDIAN_STAFF[industry] * math.exp(rng.gauss(0.0, STAFF_SIGMA)))
        staff = min(max(staff, 3), 6000)
        ownership = _pick(rng, OWNERSHIP)
        uscc = random_uscc(rng, district)
        while uscc in codes:
            uscc = random_uscc(rng, district)
        codes.add(uscc)
        name = ""
        while not name or name in names:
            name = (
                rng.choice(NAME_PLACES)
                + rng.choice(CITY_NAME_WORDS)
                + NAME_KINDS.get(industry[0], "实业")
                + rng.choice(("有限公司", "有限公司", "有限责任公司", "股份有限公司"))
            )
        names.add(name)
        climate = min(1.5, max(-1.5, rng.gauss(effort[district], 0.55)))
        union_chance = (0.92 if staff >= 100 else 0.6 if staff >= 25 else 0.18) + effort[district]
        has_union = _chance(rng, union_chance)
        contract_chance = (0.72 if staff >= 100 else 0.4) + 0.25 * climate + effort[district]
        firms.append(
            Firm(
                uscc=uscc,
                name=name,
                district=district,
                industry=industry,
                size_class=_size_class(staff),
                ownership=ownership,
                staff_count=staff,
                has_union=has_union,
                above_designated_size=_above_designated_size(rng, staff, industry),
                has_collective_contract=has_union and _chance(rng, contract_chance),
                climate=climate,
                pay_level=math.exp(rng.gauss(0.0, 0.12)) * OWNERSHIP_PAY.get(ownership, 1.0),
                wage_growth=rng.gauss(WAGE_GROWTH_MEAN + 0.02 * climate, WAGE_GROWTH_SIGMA),
            )
        )
    return firms


def firm_salary_document(
    rng: random.Random, firm: Firm, *, year: int, n_rows: int, pay_factor: float = 1.0
) -> dict[str, Any]:
    """The firm's salary survey of ``year`` with ``n_rows`` employees, its pay at
    ``firm.pay_level * pay_factor`` of the occupation medians (a factor under 1 for an
    earlier year)."""
    if n_rows < 1:
        raise ValueError("a salary survey has at least one employee")
    workforce = _workforce(firm.industry)
    head: dict[str, Any] = {
        "uscc": firm.uscc,
        "name": firm.name,
        "legal_representative": _person_name(rng),
        "contact_name": _person_name(rng),
        "contact_phone": _phone(rng),
        "district": firm.district,
        "industry": firm.industry,
        "ownership": firm.ownership,
        "size_class": firm.size_class,
        "above_designated_size": firm.above_designated_size,
        "staff_count": firm.staff_count,
        "average_headcount": max(1, round(firm.staff_count * rng.uniform(0.92, 1.04))),
        "agency_workers": round(firm.staff_count * rng.uniform(0.0, 0.06)),
        "months_operating": 12,
        "wage_bill": 0,
        "has_union": firm.has_union,
        "has_collective_contract": firm.has_collective_contract,
        "survey_year": year,
    }
    factor = firm.pay_level * pay_factor
    groups = rng.choices(list(workforce), weights=list(workforce.values()), k=n_rows)
    rows = [
        employee(
            rng,
            PayGroup(g, occupation_median(g)),
            firm.has_union,
            year=year,
            pay_factor=factor,
        )
        for g in groups
    ]
    head["wage_bill"] = sum(row["annual_pay"] for row in rows)
    return {"enterprise": head, "employees": rows}


# Written comments of the poll: a few each way; never a name, number or department.
PRAISE = (
    "工资按时发放，心里踏实。",
    "企业重视安全培训，防护用品发得及时。",
    "工会活动丰富，职工之家办得好。",
    "领导能听取大家的意见，厂务公开做得好。",
    "食堂伙食不错，希望继续保持。",
    "困难职工帮扶落实得好，很温暖。",
)
COMPLAINTS = (
    "加班比较多，希望合理安排休息。",
    "希望工资能随物价适当增长。",
    "年休假很难休，希望落实。",
    "宿舍条件一般，希望改善。",
    "希望多一些技能培训和晋升机会。",
    "夏天车间太热，希望加强防暑降温。",
    "社保缴费基数偏低，希望按实际工资缴纳。",
)
COMMENT_RATE = 0.25
# How workers see each duty against their enterprise's climate: wage growth is the sore
# point everywhere, contracts the easy one.
DUTY_BIAS = {"contracts": 0.08, "wages": -0.1, "social_insurance": 0.0, "democracy": -0.05}


def poll_answer(rng: random.Random, schema: dict[str, Any], climate: float) -> dict[str, Any]:
    """One worker's answer to a poll form (its JSON Schema): every required integer
    question on its scale (higher with the enterprise's ``climate`` and this worker's
    mood), sometimes a written comment."""
    mood = rng.gauss(0.0, 0.5)
    required = set(schema.get("required", ()))
    answer: dict[str, Any] = {}
    properties = schema.get("properties", {})
    for name in sorted(properties):  # not the form's order: JSONB does not keep it
        prop = properties[name]
        if prop.get("type") == "integer" and name in required:
            low, high = int(prop["minimum"]), int(prop["maximum"])
            bias = DUTY_BIAS.get(str(prop.get("x-dimension")), 0.0)
            level = 0.66 + 0.16 * climate + 0.12 * mood + bias + rng.gauss(0.0, 0.14)
            answer[name] = low + round(min(1.0, max(0.0, level)) * (high - low))
        elif prop.get("type") == "string" and "enum" not in prop and rng.random() < COMMENT_RATE:
            answer[name] = rng.choice(PRAISE if climate + mood > 0.2 else COMPLAINTS)
        elif "enum" in prop and name in required:
            answer[name] = rng.choice(prop["enum"])
    return answer


EVIDENCE = (
    "劳动合同台账及花名册",
    "工资发放银行流水",
    "社保缴费明细（社保经办机构出具）",
    "安全培训签到表及考试记录",
    "职代会会议纪要",
    "厂务公开栏照片及公开记录",
    "年休假审批记录",
    "工资专项集体合同文本及备案回执",
)
VETO_DETAILS = "本年度发生一次，涉及职工若干人，已整改并接受劳动保障监察部门处理。"


def self_assessment(
    rng: random.Random, firm: Firm, rules: dict[str, Any], *, year: int
) -> dict[str, Any]:
    """The firm's self-assessment, item by item as the form's ``rules`` score them: the
    better its climate, the more items it meets; a veto item is rare, and rarer the better
    the climate. Each veto answered yes comes with its ``<veto>_details``."""
    good = min(0.98, max(0.1, 0.78 + 0.18 * firm.climate))
    document: dict[str, Any] = {
        "enterprise": {"uscc": firm.uscc, "name": firm.name},
        "contact": {"name": _person_name(rng), "phone": _phone(rng)},
        "assessment_year": year,
    }
    for duty in sorted(rules["duties"]):
        section: dict[str, Any] = {}
        items = rules["duties"][duty]["items"]
        for item in sorted(items):
            score = items[item]["score"]
            value: Any
            if score == "boolean":
                value = _chance(rng, good)
            elif score["type"] == "percent":
                zero, full = float(score["zero_at"]), float(score["full_at"])
                level = rng.gauss(zero + (full - zero) * (good + 0.08), 6.0)
                value = round(min(100.0, max(0.0, level)), 1)
            else:
                options = sorted(score["points"], key=lambda o: (-score["points"][o], o))
                value = options[0] if _chance(rng, good) else rng.choice(options[1:])
            section[item] = {"answer": value}
            if rng.random() < 0.6:
                section[item]["evidence"] = rng.choice(EVIDENCE)
        document[duty] = section
    vetoes: dict[str, Any] = {}
    for veto in sorted(rules.get("vetoes", {})):
        vetoes[veto] = _chance(rng, 0.012 - 0.008 * firm.climate)
        if vetoes[veto]:
            vetoes[f"{veto}_details"] = VETO_DETAILS
    document["vetoes"] = vetoes
    return document
