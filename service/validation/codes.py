"""Every finding code and what it means: the source of docs/findings.md (written by
`disclosure schemas export`; a test fails when the table is stale or a code raised in
service/validation or service/domain is missing here)."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "错误 error"
WARNING = "提示 warning"


@dataclass(frozen=True)
class Code:
    code: str
    severity: str
    zh: str
    en: str


def _c(code: str, severity: str, zh: str, en: str) -> Code:
    return Code(code, severity, zh, en)


SECTIONS: tuple[tuple[str, tuple[Code, ...]], ...] = (
    (
        "文件 Files",
        (
            _c("file_empty", ERROR, "文件为空", "the file is empty"),
            _c("file_type_unsupported", ERROR, "不是 DOCX、PDF、OFD 或文本文件（按内容判断，并说明是什么，如“PNG 图片”）", "not DOCX, PDF, OFD or text, judged by content (and what it is, e.g. a PNG image)"),
            _c("file_type_mismatch", ERROR, "扩展名与内容不符", "the extension names another type than the content"),
            _c("file_unreadable", ERROR, "文件损坏或加密", "corrupt or encrypted"),
            _c("file_too_complex", ERROR, "超出处理上限（页数、字数、元素、嵌套、表格、压缩炸弹，读取的内存或时间……）", "over a processing limit (pages, text, elements, nesting, tables, zip bomb, memory or time to read …)"),
            _c("file_no_text", ERROR, "没有可提取的文字（如扫描件 PDF）", "no text to extract (e.g. a scanned PDF)"),
            _c("file_sha256_mismatch", ERROR, "文件的 SHA-256 与元数据 file_sha256 不符（传输中损坏或发错文件）", "the file does not hash to the metadata's file_sha256 (damaged on the way or the wrong file)"),
        ),
    ),
    (
        "元数据与受理 Metadata and intake",
        (
            _c("org_code_invalid", ERROR, "统一社会信用代码校验未通过", "the USCC fails its check"),
            _c("period_invalid", ERROR, "期间格式不符合类别（年份或日期）", "the period has the wrong shape for the category"),
            _c("org_not_registered", f"{ERROR}（生产）/ {WARNING}（开发）", "单位不在名录中", "the body is not in the registry"),
            _c("org_name_mismatch", f"{ERROR}（生产）/ {WARNING}（开发）", "单位名称与名录中的名称及简称都不符", "org_name is neither the registry's name nor an alias"),
            _c("destination_file_type", ERROR, "目的地不接受该文件类型", "a destination does not take this file type"),
            _c("destination_file_too_large", ERROR, "文件超过目的地的大小上限", "the file is over a destination's size limit"),
            _c("correction_mismatch", ERROR, "更正版本的单位、类别或期间与原报送不同", "a correction changes the body, kind or period"),
            _c("correction_reason_missing", ERROR, "更正版本未写明更正原因", "a correction gives no reason"),
            _c("publish_at_in_past", ERROR, "定时发布时间须在将来", "a release moved to a time not in the future"),
        ),
    ),
    (
        "保密审查与豁免 Secrecy review and waivers",
        (
            _c("review_missing", ERROR, "发往门户网站的报送缺少保密审查记录", "bound for the portal without a secrecy review record"),
            _c("review_not_approved", ERROR, "保密审查结论未同意公开", "the review does not approve publication"),
            _c("review_date_in_future", WARNING, "审查日期晚于报送日期", "reviewed after the day received"),
            _c("waiver_not_permitted", WARNING, "豁免未生效：只有管理员可以豁免", "waiver not applied: only an admin may waive"),
            _c("waiver_not_waivable", WARNING, "该问题不可豁免", "that code cannot be waived"),
            _c("waiver_unused", WARNING, "没有可豁免的该项错误", "no error with that code to waive"),
        ),
    ),
    (
        "个人信息与保密扫描 Personal data and secrecy scan",
        (
            _c("pii_id_number", ERROR, "居民身份证号码（校验位正确，或有效日期的15位旧号码）", "a resident ID number that passes its check"),
            _c("pii_mobile", WARNING, "手机号码（可能是办公电话）", "a mobile number (it may be an office's)"),
            _c("pii_mobile_personal", ERROR, "个人手机号码：20字内有姓名、联系人、住址、身份证或身份证号码", "a mobile within 20 characters of a name, address or ID"),
            _c("pii_bank_card", ERROR, "银行卡号（16–19位，Luhn 校验通过）", "a bank card number passing Luhn"),
            _c("secret_classified_marking", ERROR, "密级标志（绝密/机密/秘密★，或密级行）", "a classification marking"),
            _c("secret_internal_marking", ERROR, "“内部资料/内部使用”标志", "an internal-use marking"),
            _c("scan_truncated", WARNING, "同一问题过多，只列出前若干处", "too many hits of one code; the rest are not listed"),
        ),
    ),
    (
        "法治政府建设情况报告 rule_of_law_report",
        (
            _c("rol_title_missing", ERROR, "未找到标题", "no title"),
            _c("rol_title_year_mismatch", ERROR, "标题年度与报送年度不一致", "the title's year differs from the period"),
            _c("rol_missing_measures", ERROR, "缺少：主要举措和成效", "missing: measures and results"),
            _c("rol_missing_shortcomings", ERROR, "缺少：存在的不足和原因", "missing: shortcomings and causes"),
            _c("rol_missing_first_responsible", ERROR, "缺少：主要负责人履行第一责任人职责情况", "missing: the first responsible persons' duties"),
            _c("rol_missing_next_year_plan", ERROR, "缺少：下一年度主要安排", "missing: next year's plans"),
            _c("rol_heading_year_mismatch", ERROR, "第一至三部分标题的年度不是报告年度", "a part 1–3 heading names another year"),
            _c("rol_plan_year_mismatch", ERROR, "第四部分标题的年度不是下一年", "the plan heading does not name the next year"),
            _c("rol_date_missing", ERROR, "落款缺少成文日期", "the closing has no date"),
            _c("rol_date_invalid", ERROR, "落款日期不是有效日期", "the closing date is not a real date"),
            _c("rol_date_before_period_end", ERROR, "落款日期不晚于报告年度末", "dated before the reported year ended"),
            _c("rol_late", WARNING, "晚于公开期限（落款或报送日期）", "late (by its date or the day received)"),
            _c("rol_issuer_missing", WARNING, "落款缺少发文机关", "no issuer in the closing"),
            _c("rol_issuer_mismatch", WARNING, "落款机关与报送单位及其别名、党组均不符", "the issuer matches none of the body's names"),
        ),
    ),
    (
        "政府信息公开工作年度报告 gov_info_annual_report",
        (
            _c("gia_title_missing", WARNING, "未找到标题", "no title"),
            _c("gia_title_year_mismatch", ERROR, "标题年度与报送年度不一致", "the title's year differs from the period"),
            _c("gia_missing_overview", WARNING, "缺少“一、总体情况”", "missing part 1, overview"),
            _c("gia_missing_proactive", ERROR, "缺少“二、主动公开政府信息情况”", "missing part 2, proactive disclosure"),
            _c("gia_missing_requests", ERROR, "缺少“三、收到和处理政府信息公开申请情况”", "missing part 3, requests"),
            _c("gia_missing_review_litigation", ERROR, "缺少“四、行政复议、行政诉讼情况”", "missing part 4, reconsideration and litigation"),
            _c("gia_missing_problems", ERROR, "缺少“五、存在的主要问题及改进情况”", "missing part 5, problems and improvements"),
            _c("gia_missing_other", ERROR, "缺少“六、其他需要报告的事项”", "missing part 6, other matters"),
            _c("gia_tables_not_checked", WARNING, "无表格数据可核对（元数据无 annual_report，文档中未找到可读的表三、表四：如扫描件）", "no table data to check (no annual_report in the metadata, no readable table 3 or 4 in the document)"),
            _c("gia_table_shape", ERROR, "表三的行数或行与格式（2019/2021）不符", "table 3 rows do not fit the 2019/2021 format"),
            _c("gia_value_invalid", ERROR, "表格单元格不是整数", "a table cell is not a whole number"),
            _c("gia_t3_balance", ERROR, "表三某列：一 + 二 ≠ 三（七）总计 + 四", "table 3 column: new + carried over ≠ total + carried forward"),
            _c("gia_t3_results_total", ERROR, "表三某列：三（七）总计 ≠ 各办理结果之和", "table 3 column: total ≠ the sum of the results"),
            _c("gia_t3_row_total", ERROR, "表三某行：总计 ≠ 自然人 + 法人或其他组织各列", "table 3 row: 总计 ≠ the applicant columns"),
            _c("gia_t4_total", ERROR, "表四某组：总计 ≠ 维持 + 纠正 + 其他 + 尚未审结", "table 4 group: total ≠ its outcomes"),
            _c("gia_total_not_filled", WARNING, "总计列空白而其他列非零（未填写）", "a blank 总计 beside non-zero cells"),
            _c("gia_table_mismatch", ERROR, "文档表格与元数据表格数据不一致", "a DOCX cell differs from the metadata's JSON"),
            _c("gia_t2_format", WARNING, "表二的行或列与该年度格式不符", "table 2 does not follow the year's format"),
            _c("gia_carry_over_mismatch", WARNING, "本年“上年结转”≠ 上一年度“结转下年度继续办理”", "carried over ≠ last year's carried forward"),
            _c("gia_narrative_mismatch", WARNING, "正文所述数字与表格不一致（引用该句，指明单元格）", "a count the text states differs from the tables (quotes the sentence, names the cells)"),
            _c("gia_late", WARNING, "晚于公开期限（部门1月31日，区政府3月31日）", "late (department 31 Jan, district government 31 Mar)"),
        ),
    ),
    (
        "部门预算/决算 budget_final_accounts",
        (
            _c("budget_approval_missing", ERROR, "缺少财政部门批复日期", "no approval date (批复日期)"),
            _c("budget_late", WARNING, "晚于批复后20日", "more than 20 days after approval"),
            _c("budget_kind_unknown", WARNING, "无法确定是预算还是决算，未核对表格", "budget or final accounts unknown; tables not checked"),
            _c("budget_table_missing", WARNING, "缺少某张预算/决算表（按标题查找）", "a budget / final-accounts table is missing"),
            _c("budget_basic_expenditure_missing", ERROR, "未公开基本支出", "基本支出 not disclosed"),
            _c("budget_project_expenditure_missing", ERROR, "未公开项目支出", "项目支出 not disclosed"),
            _c("budget_operating_costs_missing", WARNING, "未说明机关运行经费", "no explanation of 机关运行经费"),
        ),
    ),
    (
        "领导信息、机构职能、重大民生信息 leadership, organization, livelihood",
        (
            _c("change_late", WARNING, "晚于形成或变更后20个工作日", "more than 20 working days after the change"),
            _c("calendar_year_not_covered", WARNING, "节假日安排未收录该年，按周一至周五计算", "no holiday calendar for a year; weekdays counted"),
            _c("period_in_future", WARNING, "形成或变更日期晚于报送日期", "the date formed or changed is after the day received"),
            _c("leadership_leaders_missing", ERROR, "元数据未列出领导", "no leaders in the metadata"),
            _c("leadership_field_missing", ERROR, "某位领导缺少姓名、职务或分工", "a leader lacks name, post or duties"),
            _c("leadership_name_not_in_document", WARNING, "元数据中的领导未出现在文档中", "a listed leader is not in the document"),
            _c("organization_field_missing", ERROR, "缺少职能、内设机构（及职责）、办公地址、办公时间或联系电话", "functions, units, address, hours or phone missing"),
            _c("organization_phone_invalid", ERROR, "联系电话不是电话号码", "the phone is no phone number"),
            _c("livelihood_title_missing", ERROR, "缺少标题", "no title"),
            _c("livelihood_body_missing", ERROR, "缺少正文", "no body"),
            _c("livelihood_field_missing", ERROR, "缺少所属领域", "no field"),
            _c("livelihood_field_unknown", WARNING, "所属领域不在常用领域之列", "an unusual field"),
        ),
    ),
    (
        "公开证明 Proof of publication (a published page's latest re-check; gone once a re-check finds it right)",
        (
            _c("publication_drift", ERROR, "公开页面的正文或附件与报送内容不一致", "the published page's main text or an attachment differs from the filing"),
            _c("publication_link_rot", ERROR, "公开页面已无法访问（404/410、页面不存在、跳转首页、无法连接）", "the published page can no longer be reached (404/410, soft 404, sent home, no connection)"),
        ),
    ),
)  # fmt: skip

CODES: dict[str, Code] = {c.code: c for _, codes in SECTIONS for c in codes}


def findings_markdown() -> str:
    out = [
        "# 问题代码 Finding codes",
        "",
        "<!-- Generated by `disclosure schemas export` from service/validation/codes.py; do not edit. -->",
        "",
        "Every finding has a stable `code`, a severity, a message in Chinese and English,",
        "`where` (标题, 第12段, 第3页（第40段）, 表格2第3行第4列, metadata.period …) and, where",
        "useful, a short `excerpt` with personal data masked. An error blocks a submission",
        "unless an admin waives it (`metadata.waivers`: `code`, `reason`); a warning never",
        "blocks. The JSON shape is `schemas/finding.schema.json`.",
    ]
    for title, codes in SECTIONS:
        out += [
            "",
            f"## {title}",
            "",
            "| code | 级别 severity | 含义 | meaning |",
            "|---|---|---|---|",
        ]
        out += [f"| `{c.code}` | {c.severity} | {c.zh} | {c.en} |" for c in codes]
    return "\n".join(out) + "\n"
