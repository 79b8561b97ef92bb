"""Build the gold seed evaluation suite in eval/seeds/ (BEIR layout).

Run from the repository root:

    .venv/bin/python eval/make_seeds.py

Writes:
  eval/seeds/corpus.jsonl     one line per corpus/*.md document, stored exactly as qa stores it
  eval/seeds/queries.jsonl    the questions below, with evidence offsets computed here
  eval/seeds/qrels/dev.tsv    ~40% of the questions
  eval/seeds/qrels/test.tsv   the other ~60%

Stored text rule (must match qa): the file content after the closing `---` of the
YAML front matter, leading newlines removed, then NFKC-normalised ("mg/m²" -> "mg/m2").

Question data rules:
  * Query ids are positional (s01, s02, ...): only ever APPEND new questions.
  * Evidence is one whole sentence or one whole list item (without the leading "- "),
    written exactly as in the stored text (NFKC form, curly apostrophes kept).
    If the string occurs more than once, give it as (text, anchor): the first
    occurrence after the unique string `anchor` is used.
  * Every answer must be a substring of one of the question's evidence texts.
  * Unanswerable questions have no evidence or answers; `doc` is the nearest
    document, listed in the qrels with score 0.
"""

import json
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "corpus"
OUT_DIR = ROOT / "eval" / "seeds"

AL = "aleukemic-leukemia-treatment"
IN = "infantile-all"


def q(text, doc, evidence=(), answers=(), type_=""):
    return {"text": text, "doc": doc, "evidence": list(evidence),
            "answers": list(answers), "type": type_}


def no(text, doc, type_):
    """An unanswerable question; `doc` is the nearest document (qrels score 0)."""
    return q(text, doc, type_=type_)


# --------------------------------------------------------------------------
# Question data. APPEND ONLY: the id of a question is its position (s01...).
# --------------------------------------------------------------------------
QUESTIONS = [
    # s01
    q("aleukaemic leukaemia - what does it actually mean? no blasts in peripheral blood?", AL,
      ["Aleukemic leukemia refers to acute leukemia presenting without peripheral blood "
       "leukocytosis or circulating blasts, requiring bone marrow examination for diagnosis."],
      ["acute leukemia presenting without peripheral blood leukocytosis or circulating blasts",
       "requiring bone marrow examination for diagnosis"], "definition"),
    # s02
    q("how often is aleukaemic leukaemia missed or dx delayed?", AL,
      ["Misdiagnosis or delayed diagnosis is common (occurring in approximately 45% of cases "
       "in one series) because clinicians may not suspect leukemia without peripheral blood "
       "abnormalities 3"],
      ["approximately 45% of cases"], "epidemiology"),
    # s03
    q("aleukaemic pt, normal WCC - what do they present with", AL,
      ["Patients may present with cytopenias (particularly anemia), organomegaly, "
       "lymphadenopathy, or extramedullary manifestations without the typical leukocytosis 1, 2"],
      ["cytopenias (particularly anemia), organomegaly, lymphadenopathy, or extramedullary "
       "manifestations"], "symptoms"),
    # s04
    q("FLT3+ AML on 7+3 - what to add, which days?", AL,
      ["For FLT3-mutated AML, add midostaurin 50 mg orally twice daily with food on days 8-21 "
       "of each induction and consolidation cycle to the standard 7+3 regimen 4, 5"],
      ["midostaurin 50 mg orally twice daily", "days 8-21"], "dose"),
    # s05
    no("ven + aza in unfit AML: venetoclax dose and ramp-up?", AL, "near_miss_no_dose"),
    # s06
    q("suspected APL on smear in a child - ATRA dose, wait for PML-RARA first?", AL,
      ["If acute promyelocytic leukemia (APL) is suspected based on morphology, immediately "
       "initiate all-trans retinoic acid (ATRA) 25 mg/m2 per day in children or standard adult "
       "dosing before confirmatory molecular results are available, as APL represents a medical "
       "emergency due to life-threatening hemorrhage risk 4"],
      ["25 mg/m2 per day in children", "before confirmatory molecular results are available"],
      "dose"),
    # s07
    q("APL with high count - ok to leukapherese?", AL,
      ["Do not perform leukapheresis in suspected APL cases as it may exacerbate coagulopathy 4"],
      ["Do not perform leukapheresis", "may exacerbate coagulopathy"], "contraindication"),
    # s08
    q("new acute leukaemia, need a CVC - check clotting first?", AL,
      ["Assess for coagulopathy with complete coagulation profile before inserting central "
       "venous catheters 4"],
      ["complete coagulation profile"], "workup"),
    # s09
    q("TLS prophylaxis at diagnosis", AL,
      ["Screen for tumor lysis syndrome risk and implement prophylaxis with hydration and "
       "rasburicase if indicated 4"],
      ["hydration and rasburicase"], "supportive_care"),
    # s10
    q("minimum molecular panel to send for newly dx AML", AL,
      ["Obtain peripheral blood and bone marrow for morphology, cytochemistry, flow cytometry "
       "immunophenotyping, conventional cytogenetics, and molecular testing (minimally FLT3-ITD, "
       "NPM1, CEBPA, IDH1, IDH2, RUNX1, TP53) 4, 5"],
      ["FLT3-ITD, NPM1, CEBPA, IDH1, IDH2, RUNX1, TP53"], "genetics"),
    # s11
    no("CLL first line - BTKi or ven-obinutuzumab?", AL, "other_leukaemia"),
    # s12
    q("when to HLA type pt and sibs in AML", AL,
      ["Perform HLA typing of patient and available family members immediately at diagnosis to "
       "identify potential allogeneic stem cell transplant donors, particularly for intermediate "
       "and high-risk disease 4, 5"],
      ["immediately at diagnosis"], "workup"),
    # s13
    q("echo needed before dauno/ida?", AL,
      ["Obtain baseline cardiac assessment with echocardiography before anthracycline "
       "administration 4"],
      ["baseline cardiac assessment with echocardiography"], "workup"),
    # s14
    q("7+3 doses for fit AML pt <65 - ara-C and anthracycline", AL,
      ["For patients under 65 years old who are fit for intensive therapy, standard \"7+3\" "
       "induction chemotherapy should be initiated: cytarabine 100-200 mg/m2 continuous IV "
       "infusion days 1-7 plus an anthracycline (daunorubicin 60-90 mg/m2 IV days 1-3 OR "
       "idarubicin 12 mg/m2 IV days 1-3) 4, 5."],
      ["cytarabine 100-200 mg/m2 continuous IV infusion days 1-7",
       "daunorubicin 60-90 mg/m2 IV days 1-3", "idarubicin 12 mg/m2 IV days 1-3"], "dose"),
    # s15
    q("timing of early marrow after AML induction", AL,
      ["Perform bone marrow assessment between days 14-21 for early response evaluation, then "
       "repeat after hematologic recovery to document complete remission 4"],
      ["between days 14-21", "repeat after hematologic recovery"], "schedule"),
    # s16
    q("no CR after first induction, AML - next step?", AL,
      ["If complete remission is not achieved after first induction, administer a second "
       "induction cycle and reassess 4"],
      ["administer a second induction cycle and reassess"], "treatment"),
    # s17
    q("AML, 78yo, not fit for intensive chemo - frontline regimen?", AL,
      ["For patients aged ≥65 years or those unfit for intensive chemotherapy, hypomethylating "
       "agents (azacitidine or decitabine) combined with venetoclax represent the preferred "
       "frontline approach 4, 6."],
      ["hypomethylating agents (azacitidine or decitabine) combined with venetoclax"],
      "treatment"),
    # s18
    no("azacitidine schedule in AML - mg/m2 and which days?", AL, "near_miss_no_dose"),
    # s19
    q("HMA/ven - how many cycles before calling it refractory, then how often to reassess?", AL,
      ["Assess response after 4 cycles at minimum to diagnose refractory disease, then every 3 "
       "months thereafter 4"],
      ["after 4 cycles at minimum", "every 3 months thereafter"], "schedule"),
    # s20
    q("CBF AML in CR1 - alloSCT or not?", AL,
      ["For favorable-risk AML (including core-binding factor AML with t(8;21) or inv(16), and "
       "biallelic CEBPA-mutated AML), consolidation consists of high-dose cytarabine "
       "chemotherapy alone without allogeneic transplant 4, 5.",
       "Allogeneic stem cell transplantation is not recommended in first complete remission for "
       "this risk group 5"],
      ["high-dose cytarabine chemotherapy alone without allogeneic transplant",
       "not recommended in first complete remission"], "risk_group"),
    # s21
    q("HiDAC consolidation dose + schedule, how many cycles", AL,
      ["Administer high-dose cytarabine 1-3 g/m2 every 12 hours on days 1,3, and 5 for 2-4 "
       "cycles 4, 5"],
      ["1-3 g/m2 every 12 hours on days 1,3, and 5", "2-4 cycles"], "dose"),
    # s22
    q("which AML subtypes count as favourable risk", AL,
      ["For favorable-risk AML (including core-binding factor AML with t(8;21) or inv(16), and "
       "biallelic CEBPA-mutated AML), consolidation consists of high-dose cytarabine "
       "chemotherapy alone without allogeneic transplant 4, 5."],
      ["core-binding factor AML with t(8;21) or inv(16)", "biallelic CEBPA-mutated AML"],
      "risk_group"),
    # s23
    q("NK AML with FLT3-ITD - transplant in CR1?", AL,
      ["For intermediate-risk AML (including normal karyotype with FLT3-ITD) and high-risk AML "
       "(complex karyotype, monosomal karyotype, TP53-mutated), allogeneic stem cell "
       "transplantation in first complete remission is recommended 4, 5."],
      ["allogeneic stem cell transplantation in first complete remission is recommended"],
      "risk_group"),
    # s24
    q("high-risk AML features - karyotype, TP53?", AL,
      ["For intermediate-risk AML (including normal karyotype with FLT3-ITD) and high-risk AML "
       "(complex karyotype, monosomal karyotype, TP53-mutated), allogeneic stem cell "
       "transplantation in first complete remission is recommended 4, 5."],
      ["complex karyotype, monosomal karyotype, TP53-mutated"], "risk_group"),
    # s25
    no("hairy cell leukaemia - cladribine dosing?", AL, "other_leukaemia"),
    # s26
    q("in CR awaiting alloSCT donor - what in the meantime?", AL,
      ["Bridge time to transplantation with consolidation chemotherapy if necessary 4"],
      ["consolidation chemotherapy"], "treatment"),
    # s27
    q("high risk AML: when to start MUD search", AL,
      ["For high-risk disease, initiate matched unrelated donor search as early as possible 4"],
      ["as early as possible"], "treatment"),
    # s28
    q("donor options for alloSCT in int/high-risk AML", AL,
      ["Proceed to allogeneic transplant using HLA-matched sibling donors or matched unrelated "
       "donors after achieving complete remission 4, 5"],
      ["HLA-matched sibling donors or matched unrelated donors"], "treatment"),
    # s29
    q("aleukaemic ALL - induction backbone?", AL,
      ["For aleukemic acute lymphoblastic leukemia, standard ALL induction protocols should be "
       "employed, typically combining vincristine, corticosteroids, and asparaginase with or "
       "without an anthracycline 7."],
      ["vincristine, corticosteroids, and asparaginase with or without an anthracycline"],
      "treatment"),
    # s30
    q("ALL maintenance MTX dose and route", AL,
      ["Methotrexate plays a central role in maintenance therapy, administered twice weekly at "
       "total weekly doses of 30 mg/m2 either orally or intramuscularly 7"],
      ["twice weekly at total weekly doses of 30 mg/m2", "orally or intramuscularly"], "dose"),
    # s31
    no("CML chronic phase - imatinib vs dasatinib first line?", AL, "other_leukaemia"),
    # s32
    q("IT MTX dose for a 2 yo, CNS prophylaxis", AL,
      ["For CNS prophylaxis or treatment, intrathecal methotrexate must be administered using "
       "preservative-free formulation, with age-based dosing: <1 year = 6 mg, 1 year = 8 mg, "
       "2 years = 10 mg, ≥3 years = 12 mg 7"],
      ["2 years = 10 mg"], "dose"),
    # s33
    q("intrathecal methotrexate - any particular formulation?", AL,
      ["For CNS prophylaxis or treatment, intrathecal methotrexate must be administered using "
       "preservative-free formulation, with age-based dosing: <1 year = 6 mg, 1 year = 8 mg, "
       "2 years = 10 mg, ≥3 years = 12 mg 7"],
      ["preservative-free formulation"], "contraindication"),
    # s34
    q("IT MTX dose 7 year old", AL,
      ["For CNS prophylaxis or treatment, intrathecal methotrexate must be administered using "
       "preservative-free formulation, with age-based dosing: <1 year = 6 mg, 1 year = 8 mg, "
       "2 years = 10 mg, ≥3 years = 12 mg 7"],
      ["≥3 years = 12 mg"], "dose"),
    # s35
    q("R/R AML - CR2 rates with FLAG-type salvage", AL,
      ["Fludarabine/cytarabine-based regimens with or without liposomal daunorubicin achieve "
       "second complete remission rates of 59-69% 4"],
      ["59-69%"], "survival"),
    # s36
    no("APL in an adult - ATRA dose in mg/m2?", AL, "near_miss_no_dose"),
    # s37
    q("relapsed leukaemia, now in CR2 - transplant?", AL,
      ["Children and adults with relapsed aleukemic leukemia should receive reinduction "
       "chemotherapy followed by allogeneic stem cell transplantation if second complete "
       "remission is achieved 4, 5.",
       "Allogeneic transplant is recommended for all patients achieving second complete "
       "remission, using matched related or unrelated donors 4, 5"],
      ["allogeneic stem cell transplantation if second complete remission is achieved",
       "Allogeneic transplant is recommended for all patients achieving second complete "
       "remission"], "treatment"),
    # s38
    q("second relapse or no CR2 after salvage - options?", AL,
      ["Patients with poor response to first reinduction course, failure to achieve second "
       "complete remission, or second relapse should be offered experimental therapy or "
       "palliation 4"],
      ["experimental therapy or palliation"], "treatment"),
    # s39
    q("is prognosis worse if presentation is aleukaemic?", AL,
      ["Do not assume aleukemic presentation confers different prognosis—the molecular and "
       "cytogenetic features, not the peripheral blood presentation, determine risk "
       "stratification and outcomes 1, 3"],
      ["the molecular and cytogenetic features, not the peripheral blood presentation, "
       "determine risk stratification and outcomes"], "prognosis"),
    # s40
    q("no circulating blasts - can we skip NGS/molecular?", AL,
      ["Do not omit comprehensive molecular testing simply because peripheral blood is "
       "unavailable for analysis—bone marrow provides adequate material for complete genomic "
       "profiling 4"],
      ["bone marrow provides adequate material for complete genomic profiling"],
      "contraindication"),
    # s41
    q("where should aleukaemic leukaemia be managed - DGH ok?", AL,
      ["Aleukemic leukemia should only be treated in specialized centers with comprehensive "
       "hematology/oncology services, bone marrow transplant capabilities, infectious disease "
       "expertise, adequate transfusion services, and psycho-oncology support 4, 5."],
      ["only be treated in specialized centers"], "setting"),
    # s42
    no("type 2 diabetes first-line drug", AL, "out_of_corpus"),
    # s43
    q("aleukaemic vs typical AML - any change to treatment?", AL,
      ["Once aleukemic leukemia is diagnosed, treatment should proceed identically to typical "
       "leukemia presentations, as the aleukemic phase does not alter the underlying disease "
       "biology or treatment approach 5, 1."],
      ["treatment should proceed identically to typical leukemia presentations"], "treatment"),
    # s44
    q("infant ALL - age cut-off?", IN,
      ["Infantile ALL occurs in children under age one.",
       "A leukemia is classified as “infantile” when it’s diagnosed before a child’s first "
       "birthday."],
      ["under age one", "before a child’s first birthday"], "definition"),
    # s45
    q("infant ALL as % of all paediatric ALL", IN,
      ["Infantile ALL is rare, making up only 2% to 5% of all pediatric diagnoses of ALL."],
      ["2% to 5%"], "epidemiology"),
    # s46
    q("infant ALL cases per year in US", IN,
      ["In fact, the Leukemia & Lymphoma Society notes that only about 90 diagnoses of ALL are "
       "made in infants in the United States each year."],
      ["about 90"], "epidemiology"),
    # s47
    no("blinatumomab dose in infant KMT2A-r ALL", IN, "near_miss_no_dose"),
    # s48
    q("infant ALL - B or T lineage usually?", IN,
      ["Most diagnoses of infantile ALL affect early forms of B cells."],
      ["early forms of B cells"], "genetics"),
    # s49
    q("KMT2A-r in infant ALL - how common, significance?", IN,
      ["One of these called a KMT2A rearrangement, is found in up to 80% of infants with ALL.",
       "It’s associated with resistance to treatment and higher relapse rates."],
      ["up to 80%", "resistance to treatment and higher relapse rates"], "genetics"),
    # s50
    q("infant with ALL and skin nodules - name?", IN,
      ["leukemia cutis, a condition that occurs when leukemia cells spread into the skin"],
      ["leukemia cutis"], "symptoms"),
    # s51
    q("infant ALL - aggressive presenting features vs older kids", IN,
      ["high numbers of leukemia cells at diagnosis",
       "early spread to the CNS, which includes the brain and spinal cord",
       "enlarged spleen and liver",
       "leukemia cutis, a condition that occurs when leukemia cells spread into the skin"],
      ["high numbers of leukemia cells at diagnosis", "early spread to the CNS",
       "enlarged spleen and liver", "leukemia cutis"], "symptoms"),
    # s52
    q("low plts in infant ALL - signs?", IN,
      ["easy bruising or bleeding",
       "frequent bleeding events like nosebleeds and bleeding gums",
       "petechiae, small reddish or purplish spots under the skin caused by bleeding"],
      ["easy bruising or bleeding", "nosebleeds and bleeding gums", "petechiae"], "symptoms"),
    # s53
    no("paediatric asthma - step-up after low-dose ICS?", IN, "out_of_corpus"),
    # s54
    q("recurrent fevers + infections in infant ALL - why", IN,
      ["low white blood cell counts can cause persistent fevers and also increase the risk of "
       "infections"],
      ["low white blood cell counts"], "symptoms"),
    # s55
    q("infant ALL in utero origin - supporting evidence?", IN,
      ["It’s believed that the genetic changes that cause infantile ALL happen while still in "
       "the womb.",
       "Research has supported this, finding that the proportion of childhood leukemias, "
       "especially infantile leukemias, is higher in twins."],
      ["while still in the womb", "higher in twins"], "genetics"),
    # s56
    q("FBC findings in infant ALL", IN,
      ["Infants with ALL typically have high white blood cell counts, although most of these "
       "are leukemia cells and not mature white blood cells.",
       "They can also have low levels of red blood cells and platelets."],
      ["high white blood cell counts", "low levels of red blood cells and platelets"],
      "diagnostics"),
    # s57
    q("LP in infant ALL - why?", IN,
      ["Because infantile ALL often spreads to the CNS, a cerebrospinal fluid (CSF) analysis, "
       "which involves a lumbar puncture, may also be done to check for signs of leukemia cells."],
      ["cerebrospinal fluid (CSF) analysis", "often spreads to the CNS"], "diagnostics"),
    # s58
    q("imaging for extramedullary disease, infant ALL", IN,
      ["Imaging tests that may be used include things like CT scans, MRI scans, or chest "
       "X-rays."],
      ["CT scans, MRI scans, or chest X-rays"], "diagnostics"),
    # s59
    no("Interfant induction - which drugs exactly?", IN, "near_miss_no_list"),
    # s60
    q("NCCN - infant ALL on trial?", IN,
      ["The National Comprehensive Cancer Network (NCCN) recommends all infants with ALL be "
       "treated as part of a clinical trial, if possible."],
      ["treated as part of a clinical trial"], "treatment"),
    # s61
    q("infant ALL tx phases", IN,
      ["Induction phase: The induction phase aims to achieve remission, in which blood cell "
       "counts and bone marrow samples return to normal.",
       "Consolidation phase: During the consolidation phase, additional treatment is given to "
       "kill any remaining leukemia cells in the body.",
       "Maintenance phase: If ALL is still in remission after the first two phases, the "
       "maintenance phase aims to keep the leukemia in remission."],
      ["Induction phase", "Consolidation phase", "Maintenance phase"], "treatment_phases"),
    # s62
    q("which trial protocol for infant ALL induction chemo", IN,
      ["The induction phase of infantile ALL treatment typically involves the use of "
       "chemotherapy (chemo), specifically drugs used during the Interfant clinical trials."],
      ["drugs used during the Interfant clinical trials"], "treatment_phases"),
    # s63
    q("infant ALL risk stratification - what criteria", IN,
      ["the presence of the KMT2A rearrangement",
       ("age", "A healthcare provider will determine risk groups based on:"),
       ("white blood cell count", "A healthcare provider will determine risk groups based on:"),
       "whether there is minimal residual disease after the consolidation phase"],
      ["the presence of the KMT2A rearrangement", "age", "white blood cell count",
       "minimal residual disease after the consolidation phase"], "risk_group"),
    # s64
    q("infant ALL - MRD timepoint for risk grouping", IN,
      ["whether there is minimal residual disease after the consolidation phase"],
      ["after the consolidation phase"], "risk_group"),
    # s65
    no("cranial irradiation dose for CNS+ infant ALL", IN, "near_miss_no_dose"),
    # s66
    q("CNS-directed therapy options in infant ALL", IN,
      ["This can involve radiation therapy or chemo given into the bloodstream or CSF."],
      ["radiation therapy or chemo given into the bloodstream or CSF"], "treatment"),
    # s67
    q("infant ALL high risk - 6y OS?", IN,
      ["29.9% for infants in the high risk group"],
      ["29.9%"], "survival"),
    # s68
    q("infant ALL 6-yr OS overall and low-risk group", IN,
      ["58.2% overall", "87.2% for infants in the low risk group"],
      ["58.2%", "87.2%"], "survival"),
    # s69
    q("infant ALL intermediate risk OS", IN,
      ["58.1% for infants in the intermediate-risk group"],
      ["58.1%"], "survival"),
    # s70
    q("blina added to Interfant chemo - did it help?", IN,
      ["For instance, clinical trial results published in 2023 found that adding the targeted "
       "therapy drug blinatumomab (Blincyto) to Interfant chemo boosted treatment effectiveness "
       "when compared to previous data using just Interfant chemo alone."],
      ["boosted treatment effectiveness"], "treatment"),
    # s71
    no("gilteritinib dose for relapsed FLT3 AML", AL, "near_miss_no_drug"),
    # s72
    q("why is infant ALL prognosis so poor", IN,
      ["According to a 2024 review, not only is infantile ALL more aggressive, but it’s also "
       "associated with resistance to some types of chemo, high rates of relapse, and "
       "treatment-related toxicity."],
      ["resistance to some types of chemo, high rates of relapse, and treatment-related "
       "toxicity"], "prognosis"),
    # s73
    q("infant ALL - stem cell transplant ever indicated?", IN,
      ["In some situations, a stem cell transplant may be recommended.",
       "Sometimes a stem cell transplant is recommended."],
      ["a stem cell transplant may be recommended", "Sometimes a stem cell transplant is recommended"],
      "treatment"),
    # s74
    q("infant vs older child ALL - tx intensity?", IN,
      ["Due to the fact that ALL in infants tends to be aggressive, more intensive treatment "
       "often needs to be used.",
       "The treatment for infantile ALL is more intense than the treatment used for other "
       "children with ALL."],
      ["more intensive treatment", "more intense than the treatment used for other children"],
      "treatment"),
    # s75
    no("PEG-asparaginase dose in ALL induction", AL, "near_miss_no_dose"),
    # s76
    no("arsenic trioxide dosing in APL", AL, "near_miss_no_drug"),
    # s77
    no("antifungal prophylaxis during AML induction - posaconazole?", AL, "near_miss_no_drug"),
    # s78
    no("decitabine 5-day vs 10-day in older AML", AL, "near_miss_no_dose"),
    # ---- s79 onwards: dev only (is_dev), written 2026-12-04 to give the bundled corpus's
    # calibration and scorer more of its own questions. None uses a test question's gold sentence
    # (main() checks), so no test answer is taught.
    # s79
    q("aleukaemic leukaemia - is it only AML or ALL too?", AL,
      ["This presentation occurs in both acute myeloid leukemia (AML) and acute lymphoblastic "
       "leukemia (ALL), and represents a diagnostic challenge that can lead to delayed treatment 1, 2, 3."],
      ["occurs in both acute myeloid leukemia (AML) and acute lymphoblastic leukemia (ALL)"], "definition"),
    # s80
    q("gold standard test to confirm aleukemic leukemia?", AL,
      ["Bone marrow aspirate and biopsy remain the definitive diagnostic procedure, establishing "
       "diagnosis through morphology, immunophenotyping, cytogenetics, and molecular testing 4, 5"],
      ["Bone marrow aspirate and biopsy remain the definitive diagnostic procedure"], "diagnosis"),
    # s81
    q("can I start definitive chemo before the cytogenetics are back?", AL,
      ["Complete molecular and cytogenetic profiling is mandatory before initiating definitive "
       "therapy to guide risk-stratified treatment 4, 5."],
      ["mandatory before initiating definitive therapy"], "workup"),
    # s82
    q("what kind of cells do lymphocytes include?", IN,
      ["Lymphocytes are infection-fighting immune cells like B cells and T cells."],
      ["B cells and T cells"], "definition"),
    # s83
    q("aleukemic AML, should I hold off treatment until counts rise?", AL,
      ["Do not delay treatment initiation because of the aleukemic presentation—once diagnosis is "
       "confirmed by bone marrow examination, proceed immediately with standard leukemia protocols 1, 3"],
      ["Do not delay treatment initiation"], "pitfall"),
    # s84
    q("ven + HMA in the elderly - what's the survival benefit?", AL,
      ["This combination has revolutionized therapy in older adults, extending survival compared "
       "to monotherapy 6"],
      ["extending survival compared to monotherapy"], "treatment"),
    # s85
    q("pre-anthracycline cardiac workup?", AL,
      ["Obtain baseline cardiac assessment with echocardiography before anthracycline administration 4"],
      ["baseline cardiac assessment with echocardiography"], "workup"),
    # s86
    q("APL suspected on the film, do I wait for molecular confirmation before ATRA?", AL,
      ["If acute promyelocytic leukemia (APL) is suspected based on morphology, immediately initiate "
       "all-trans retinoic acid (ATRA) 25 mg/m2 per day in children or standard adult dosing before "
       "confirmatory molecular results are available, as APL represents a medical emergency due to "
       "life-threatening hemorrhage risk 4"],
      ["before confirmatory molecular results are available"], "emergency"),
    # s87
    q("coags before line insertion in new leukaemia?", AL,
      ["Assess for coagulopathy with complete coagulation profile before inserting central venous catheters 4"],
      ["complete coagulation profile before inserting central venous catheters"], "emergency"),
    # s88
    q("refractory after induction 1 - repeat induction?", AL,
      ["If complete remission is not achieved after first induction, administer a second induction "
       "cycle and reassess 4"],
      ["administer a second induction cycle and reassess"], "treatment"),
    # s89
    q("HiDAC g/m2 and days in CBF AML consolidation", AL,
      ["Administer high-dose cytarabine 1-3 g/m2 every 12 hours on days 1,3, and 5 for 2-4 cycles 4, 5"],
      ["1-3 g/m2 every 12 hours on days 1,3, and 5"], "dose"),
    # s90
    q("waiting for a donor in CR1 - give more chemo?", AL,
      ["Bridge time to transplantation with consolidation chemotherapy if necessary 4"],
      ["Bridge time to transplantation with consolidation chemotherapy"], "treatment"),
    # s91
    q("sibling vs unrelated donor for allo in high risk AML", AL,
      ["Proceed to allogeneic transplant using HLA-matched sibling donors or matched unrelated "
       "donors after achieving complete remission 4, 5"],
      ["HLA-matched sibling donors or matched unrelated donors"], "transplant"),
    # s92
    q("what supportive services does a centre need to treat aleukemic leukemia", AL,
      ["Aleukemic leukemia should only be treated in specialized centers with comprehensive "
       "hematology/oncology services, bone marrow transplant capabilities, infectious disease "
       "expertise, adequate transfusion services, and psycho-oncology support 4, 5."],
      ["infectious disease expertise, adequate transfusion services, and psycho-oncology support"], "setting"),
    # s93
    q("failed reinduction - palliation?", AL,
      ["Patients with poor response to first reinduction course, failure to achieve second complete "
       "remission, or second relapse should be offered experimental therapy or palliation 4"],
      ["experimental therapy or palliation"], "relapse"),
    # s94
    q("is the treatment of aleukemic leukemia different from usual leukemia?", AL,
      ["Once aleukemic leukemia is diagnosed, treatment should proceed identically to typical "
       "leukemia presentations, as the aleukemic phase does not alter the underlying disease "
       "biology or treatment approach 5, 1."],
      ["treatment should proceed identically to typical leukemia presentations"], "treatment"),
    # s95
    q("grows fast or slow - infantile ALL?", IN,
      ["Infantile ALL is a type of fast-growing leukemia."],
      ["fast-growing leukemia"], "definition"),
    # s96
    q("what does ALL affect - which cells?", IN,
      ["It affects cells that go on to become white blood cells called lymphocytes."],
      ["white blood cells called lymphocytes"], "definition"),
    # s97
    q("why do infants with ALL get anaemia and bleeding?", IN,
      ["When the number of leukemia cells builds up in the bone marrow, they begin to crowd out "
       "healthy blood cells, including other white blood cells, red blood cells, and platelets."],
      ["crowd out healthy blood cells"], "symptoms"),
    # s98
    q("symptoms of anaemia in an infant with leukaemia", IN,
      ["low red blood cell counts lead to anemia, which can cause symptoms like:"],
      ["anemia"], "symptoms"),
    # s99
    q("infant ALL - what is the underlying cause?", IN,
      ["On a basic level, infantile ALL occurs due to genetic changes in early white blood cells."],
      ["genetic changes in early white blood cells"], "cause"),
    # s100
    q("what happens to the marrow sample once leukaemia cells are seen?", IN,
      ["This can help them to determine the type of cells affected and any genetic changes they may have."],
      ["determine the type of cells affected and any genetic changes"], "diagnosis"),
    # s101
    q("infant ALL - any scans needed?", IN,
      ["Lastly, imaging may be used to look for signs of leukemia outside of the bone marrow.",
       "Imaging tests that may be used include things like CT scans, MRI scans, or chest X-rays."],
      ["imaging may be used to look for signs of leukemia outside of the bone marrow", "CT scans"], "diagnosis"),
    # s102
    q("goal of consolidation in infant ALL", IN,
      ["Consolidation phase: During the consolidation phase, additional treatment is given to kill "
       "any remaining leukemia cells in the body."],
      ["kill any remaining leukemia cells"], "treatment"),
    # s103
    q("what is the aim of the maintenance phase?", IN,
      ["Maintenance phase: If ALL is still in remission after the first two phases, the maintenance "
       "phase aims to keep the leukemia in remission."],
      ["keep the leukemia in remission"], "treatment"),
    # s104
    q("does chemo intensity in infant ALL depend on risk group?", IN,
      ["Treatment typically involves chemo, with intensity varying based on the risk group."],
      ["intensity varying based on the risk group"], "treatment"),
    # s105
    q("infant ALL WBC at presentation - high or low?", IN,
      ["Infants with ALL typically have high white blood cell counts, although most of these are "
       "leukemia cells and not mature white blood cells."],
      ["high white blood cell counts"], "diagnosis"),
    # s106
    q("is infantile ALL common in children?", IN,
      ["While ALL is most common in early childhood, it’s quite rare in infants."],
      ["quite rare in infants"], "epidemiology"),
    # s107
    q("infant ALL - what does the CBC show apart from the WBC?", IN,
      ["They can also have low levels of red blood cells and platelets."],
      ["low levels of red blood cells and platelets"], "diagnosis"),
    # s108
    q("infant ALL prognosis in one line", IN,
      ["The outlook for infantile ALL is poor."],
      ["The outlook for infantile ALL is poor"], "prognosis"),
    # s109
    no("FLT3 inhibitor maintenance after alloSCT - sorafenib?", AL, "near_miss_no_drug"),
    # s110
    no("daunorubicin cumulative dose limit?", AL, "near_miss_no_dose"),
    # s111
    no("rasburicase dose mg/kg for TLS", AL, "near_miss_no_dose"),
    # s112
    no("infant ALL - dexamethasone or prednisolone in induction?", IN, "near_miss_no_drug"),
    # s113
    no("blinatumomab dose in infants", IN, "near_miss_no_dose"),
    # s114
    no("Hodgkin lymphoma first-line ABVD cycles", AL, "other_disease"),
    # s115
    no("venetoclax ramp-up schedule in AML", AL, "near_miss_no_dose"),
    # s116
    no("midostaurin side effects - QT prolongation?", AL, "near_miss_no_fact"),
    # s117
    no("neonatal jaundice - phototherapy thresholds", IN, "other_disease"),
    # s118
    no("infant ALL relapse rate after transplant", IN, "near_miss_no_fact"),
    # s119
    no("G-CSF after induction in AML - yes or no?", AL, "near_miss_no_drug"),
    # s120
    no("MRD threshold for high risk in infant ALL?", IN, "near_miss_no_fact"),
    # s121
    no("hydroxyurea dose for leukostasis", AL, "near_miss_no_dose"),
    # s122
    no("sickle cell crisis analgesia in children", IN, "other_disease"),
]


FIRST_DEV_ONLY = 79  # questions from here on were written for dev only (the test split stays as it was)


def is_dev(number):
    """Deterministic split: s01-s78 by number (ending in 1, 3, 6 or 8, mod 10, -> dev, ~40%);
    every later question is dev."""
    return number >= FIRST_DEV_ONLY or number % 10 in (1, 3, 6, 8)


# --------------------------------------------------------------------------
# Corpus loading: must mirror how qa stores a document.
# --------------------------------------------------------------------------
def parse_front_matter(lines):
    """Parse the flat `key: value` front matter used in corpus/ (strings, dates, null)."""
    meta = {}
    for line in lines:
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        assert sep and key.strip() and not line.startswith(" "), f"unsupported: {line!r}"
        value = value.strip()
        if value in ("null", "~", ""):
            meta[key.strip()] = None
        elif value.startswith('"'):
            meta[key.strip()] = json.loads(value)
        else:
            meta[key.strip()] = value  # e.g. an ISO date, kept as a string
    return meta


def load_document(path):
    raw = path.read_text(encoding="utf-8")
    lines = raw.split("\n")
    assert lines[0].strip() == "---", f"{path.name}: no front matter"
    close = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    meta = parse_front_matter(lines[1:close])
    body = "\n".join(lines[close + 1:]).lstrip("\n")
    return {
        "_id": path.stem,
        "title": meta["title"],
        "text": unicodedata.normalize("NFKC", body),
        "metadata": {"date": meta.get("date"), "source": meta.get("source")},
    }


# --------------------------------------------------------------------------
# Building and checking the queries.
# --------------------------------------------------------------------------
def locate(text, evidence, where):
    """Return the offset of one evidence unit in the stored text (asserting it is unambiguous)."""
    if isinstance(evidence, tuple):
        evidence, anchor = evidence
        assert text.count(anchor) == 1, f"{where}: anchor not unique: {anchor!r}"
        start = text.find(evidence, text.find(anchor) + len(anchor))
    else:
        assert text.count(evidence) == 1, (
            f"{where}: evidence found {text.count(evidence)} times "
            f"(give an anchor if >1): {evidence!r}")
        start = text.find(evidence)
    assert start >= 0, f"{where}: evidence not found: {evidence!r}"
    # The span must be a whole sentence or list item, not a fragment of one.
    before = text[max(0, start - 2):start]
    after = text[start + len(evidence):start + len(evidence) + 1]
    assert start == 0 or before.endswith("\n") or before in ("- ", ". "), (
        f"{where}: evidence does not start a sentence/list item: {evidence!r}")
    assert after in ("", "\n", " "), f"{where}: evidence does not end a unit: {evidence!r}"
    return evidence, start


def build_query(number, item, docs):
    qid = f"s{number:02d}"
    doc = docs[item["doc"]]
    evidence = []
    for ev in item["evidence"]:
        ev_text, start = locate(doc["text"], ev, qid)
        assert doc["text"][start:start + len(ev_text)] == ev_text
        evidence.append({"doc_id": doc["_id"], "text": ev_text, "start": start})
    answerable = bool(evidence)
    assert answerable == bool(item["answers"]), f"{qid}: evidence/answers mismatch"
    for answer in item["answers"]:
        assert any(answer in ev["text"] for ev in evidence), f"{qid}: answer not in evidence: {answer!r}"
    assert item["type"], f"{qid}: missing type"
    return {
        "_id": qid,
        "text": item["text"],
        "answerable": answerable,
        "evidence": evidence,
        "answers": item["answers"],
        "metadata": {"type": item["type"]},
    }


def write_jsonl(path, rows):
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_qrels(path, queries, nearest):
    with path.open("w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for query in queries:
            score = 1 if query["answerable"] else 0
            f.write(f"{query['_id']}\t{nearest[query['_id']]}\t{score}\n")


def main():
    docs = {d["_id"]: d for d in map(load_document, sorted(CORPUS_DIR.glob("*.md")))}
    assert set(docs) == {AL, IN}, f"unexpected corpus: {sorted(docs)}"

    queries, nearest = [], {}
    for number, item in enumerate(QUESTIONS, start=1):
        query = build_query(number, item, docs)
        queries.append(query)
        nearest[query["_id"]] = item["doc"]
    assert len({query["text"] for query in queries}) == len(queries), "duplicate question text"

    dev = [query for n, query in enumerate(queries, start=1) if is_dev(n)]
    test = [query for n, query in enumerate(queries, start=1) if not is_dev(n)]

    test_gold = {ev["text"] for query in test for ev in query["evidence"]}
    for n, query in enumerate(queries, start=1):
        shared = [ev["text"] for ev in query["evidence"] if ev["text"] in test_gold]
        assert n < FIRST_DEV_ONLY or not shared, f"{query['_id']}: dev-only question cites test gold: {shared}"

    (OUT_DIR / "qrels").mkdir(parents=True, exist_ok=True)
    write_jsonl(OUT_DIR / "corpus.jsonl", docs.values())
    write_jsonl(OUT_DIR / "queries.jsonl", queries)
    write_qrels(OUT_DIR / "qrels" / "dev.tsv", dev, nearest)
    write_qrels(OUT_DIR / "qrels" / "test.tsv", test, nearest)

    for name, split in (("dev", dev), ("test", test)):
        n_ans = sum(query["answerable"] for query in split)
        print(f"{name}: {len(split)} questions ({n_ans} answerable, "
              f"{len(split) - n_ans} unanswerable)")
    print(f"total: {len(queries)} questions, {len(docs)} documents -> {OUT_DIR}")


if __name__ == "__main__":
    sys.exit(main())
